/*
 * test_search_chunk.c — the chunker of src/search (chunk.h) with a counting
 * function of its own (a word is ceil(bytes / 4) tokens): empty and
 * whitespace-only texts, a text without a newline, cuts on paragraph and
 * sentence boundaries, overlap, UTF-8 safety, line ranges, and a 10 MB line
 * in bounded time with bounded spans counted.
 */
#include "test_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "search/chunk.h"
#include "tinyllm.h"

typedef struct counting {
    size_t max_span; /* the longest span asked about */
    long calls;
} counting;

static bool space(char ch) {
    return ch == ' ' || ch == '\n' || ch == '\t' || ch == '\r';
}

static int32_t count_words(void *user, const char *text, size_t len, int32_t limit) {
    counting *c = user;
    if (c) {
        c->calls++;
        if (len > c->max_span) c->max_span = len;
    }
    int32_t n = 0;
    for (size_t i = 0; i < len && n <= limit;) {
        if (space(text[i])) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < len && !space(text[j])) j++;
        n += (int32_t)((j - i + 3) / 4);
        i = j;
    }
    return n > limit ? limit + 1 : n;
}

typedef struct chunk_list {
    tl_chunk items[20000];
    int n;
} chunk_list;

static chunk_list *chunk_all(const char *text, int32_t max, int32_t overlap, counting *c) {
    chunk_list *list = calloc(1, sizeof *list);
    tl_chunker ch;
    tl_chunker_init(&ch, text, strlen(text), max, overlap, count_words, c);
    int r;
    while ((r = tl_chunker_next(&ch, &list->items[list->n])) == 1) {
        assert_true(list->n < 20000);
        list->n++;
    }
    assert_int_equal(r, 0);
    return list;
}

static void check_chunks(const char *text, const chunk_list *l, int32_t max) {
    const size_t len = strlen(text);
    for (int i = 0; i < l->n; i++) {
        const tl_chunk *c = &l->items[i];
        assert_true(c->start < c->end && c->end <= len);
        assert_false(space(text[c->start]));
        assert_false(space(text[c->end - 1]));
        assert_true(((unsigned char)text[c->start] & 0xC0) != 0x80); /* not inside a UTF-8 character */
        assert_true(c->end == len || ((unsigned char)text[c->end] & 0xC0) != 0x80);
        assert_true(count_words(NULL, text + c->start, c->end - c->start, max) <= max);
        if (i) assert_true(c->start > l->items[i - 1].start);
        int64_t line = 1;
        for (size_t b = 0; b < c->start; b++) line += text[b] == '\n';
        assert_int_equal(c->first_line, line);
        for (size_t b = c->start; b < c->end; b++) line += text[b] == '\n';
        assert_int_equal(c->last_line, line);
    }
}

static void test_empty_and_blank_texts_give_no_chunks(void **state) {
    (void)state;
    chunk_list *l = chunk_all("", 10, 2, NULL);
    assert_int_equal(l->n, 0);
    free(l);
    l = chunk_all(" \n\n\t \r\n", 10, 2, NULL);
    assert_int_equal(l->n, 0);
    free(l);
}

static void test_short_text_without_newline_is_one_chunk(void **state) {
    (void)state;
    const char *text = "  one line, no newline at the end";
    chunk_list *l = chunk_all(text, 50, 5, NULL);
    assert_int_equal(l->n, 1);
    assert_int_equal(l->items[0].start, 2);
    assert_int_equal(l->items[0].end, strlen(text));
    assert_int_equal(l->items[0].first_line, 1);
    assert_int_equal(l->items[0].last_line, 1);
    free(l);
}

static void test_cuts_after_paragraphs(void **state) {
    (void)state;
    /* paragraphs of 12 words; 30 tokens hold two of them but not three */
    char text[4096] = "";
    for (int p = 0; p < 6; p++) {
        for (int w = 0; w < 11; w++) strcat(text, "word ");
        strcat(text, "end.\n\n");
    }
    chunk_list *l = chunk_all(text, 30, 0, NULL);
    check_chunks(text, l, 30);
    assert_int_equal(l->n, 3);
    for (int i = 0; i < l->n; i++) assert_memory_equal(text + l->items[i].end, "\n\n", 2);
    free(l);
}

static void test_cuts_after_sentences_within_a_paragraph(void **state) {
    (void)state;
    char text[4096] = "";
    for (int s = 0; s < 20; s++) strcat(text, "This sentence has exactly seven words. ");
    chunk_list *l = chunk_all(text, 20, 0, NULL);
    check_chunks(text, l, 20);
    assert_true(l->n >= 7);
    for (int i = 0; i < l->n; i++) assert_int_equal(text[l->items[i].end - 1], '.');
    free(l);
}

static void test_overlap_repeats_about_n_tokens_on_word_starts(void **state) {
    (void)state;
    char *text = malloc(20000);
    text[0] = 0;
    for (int w = 0; w < 1000; w++) sprintf(text + strlen(text), "w%03d ", w);
    chunk_list *l = chunk_all(text, 50, 10, NULL);
    check_chunks(text, l, 50);
    assert_true(l->n > 20);
    for (int i = 1; i < l->n; i++) {
        const tl_chunk *a = &l->items[i - 1], *b = &l->items[i];
        assert_true(b->start < a->end); /* they share words... */
        const int32_t shared = count_words(NULL, text + b->start, a->end - b->start, 1000);
        assert_true(shared >= 5 && shared <= 10); /* ...about the overlap */
        assert_true(text[b->start - 1] == ' ');   /* starting on a word */
    }
    assert_int_equal(l->items[l->n - 1].end, strlen(text) - 1); /* everything covered */
    free(l);
    free(text);
}

static void test_never_cuts_inside_a_utf8_character(void **state) {
    (void)state;
    /* one long "word" of 2-, 3- and 4-byte characters: only character cuts are possible */
    char *text = malloc(40000);
    text[0] = 0;
    for (int i = 0; i < 3000; i++)
        strcat(text, i % 3 == 0 ? "\xc3\xa9" : i % 3 == 1 ? "\xe6\x97\xa5" : "\xf0\x9f\x98\x80");
    chunk_list *l = chunk_all(text, 16, 4, NULL);
    check_chunks(text, l, 16);
    assert_true(l->n > 50);
    size_t covered = 0;
    for (int i = 0; i < l->n; i++)
        if (l->items[i].end > covered) covered = l->items[i].end;
    assert_int_equal(covered, strlen(text));
    free(l);
    free(text);
}

static void test_lines_are_counted_across_chunks(void **state) {
    (void)state;
    char text[8192] = "";
    for (int i = 0; i < 200; i++) strcat(text, i % 5 == 4 ? "line of code\n\n" : "line of code\n");
    chunk_list *l = chunk_all(text, 25, 6, NULL);
    check_chunks(text, l, 25); /* compares first_line / last_line with a count of newlines */
    assert_true(l->n > 10);
    free(l);
}

static void test_ten_megabyte_line_in_bounded_time(void **state) {
    (void)state;
    const size_t len = 10u << 20;
    char *text = malloc(len + 1);
    for (size_t i = 0; i < len; i++) text[i] = i % 6 == 5 ? ' ' : 'a' + (char)(i % 6);
    text[len] = 0;
    counting c = {0};
    const double t0 = tl_time_ms();
    chunk_list *l = chunk_all(text, 256, 32, &c);
    const double ms = tl_time_ms() - t0;
    assert_true(l->n > 5000); /* ~1.75 M words of 2 tokens, 224 new tokens per chunk */
    assert_true(l->items[l->n - 1].end >= len - 1);
    assert_true(c.max_span <= 256 * 8 * 2); /* no span much longer than a chunk is ever counted */
    assert_true(ms < 20000.0 * tl_test_time_scale());
    free(l);
    free(text);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_and_blank_texts_give_no_chunks),
        cmocka_unit_test(test_short_text_without_newline_is_one_chunk),
        cmocka_unit_test(test_cuts_after_paragraphs),
        cmocka_unit_test(test_cuts_after_sentences_within_a_paragraph),
        cmocka_unit_test(test_overlap_repeats_about_n_tokens_on_word_starts),
        cmocka_unit_test(test_never_cuts_inside_a_utf8_character),
        cmocka_unit_test(test_lines_are_counted_across_chunks),
        cmocka_unit_test(test_ten_megabyte_line_in_bounded_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
