/*
 * test_search_extract.c — document kinds by file name and HTML blanking
 * (src/search/extract.h): every byte stays where it was (offsets and lines
 * are the file's), tags, comments, scripts and styles become spaces, and
 * entities their character.
 */
#include "test_support.h"

#include <stdio.h>
#include <string.h>

#include "search/extract.h"

static void test_kinds_follow_the_file_name(void **state) {
    (void)state;
    assert_int_equal(tl_doc_kind_of("/a/notes.txt"), TL_DOC_TEXT);
    assert_int_equal(tl_doc_kind_of("/a/README.MD"), TL_DOC_TEXT);
    assert_int_equal(tl_doc_kind_of("/a/Makefile"), TL_DOC_TEXT);
    assert_int_equal(tl_doc_kind_of("/a.b/.bashrc"), TL_DOC_TEXT);
    assert_int_equal(tl_doc_kind_of("page.HTM"), TL_DOC_HTML);
    assert_int_equal(tl_doc_kind_of("x/main.c"), TL_DOC_SOURCE);
    assert_int_equal(tl_doc_kind_of("x/conf.yaml"), TL_DOC_SOURCE);
    assert_int_equal(tl_doc_kind_of("paper.pdf"), TL_DOC_PDF);
    assert_int_equal(tl_doc_kind_of("photo.jpg"), TL_DOC_OTHER);
    assert_int_equal(tl_doc_kind_of("notes.db"), TL_DOC_OTHER); /* a search database is not indexed */
}

static void test_binary_means_a_nul_in_the_first_8_kb(void **state) {
    (void)state;
    static char data[10000];
    memset(data, 'a', sizeof data);
    assert_false(tl_doc_is_binary(data, sizeof data));
    data[9000] = 0;
    assert_false(tl_doc_is_binary(data, sizeof data));
    data[100] = 0;
    assert_true(tl_doc_is_binary(data, sizeof data));
}

static void test_html_is_blanked_in_place(void **state) {
    (void)state;
    char html[] =
        "<p>A &amp; B</p>\n<!-- gone\n --><script>var x = \"<b>\";</script><STYLE>p{}</STYLE>C&lt;D&nbsp;E&bogus;";
    const size_t len = strlen(html);
    tl_doc_strip_html(html, len);
    assert_int_equal(strlen(html), len);
    char want[200]; /* <p>, &amp; and </p>; the comment; its end, the script and the style; &lt; and &nbsp; */
    snprintf(want, sizeof want, "   A &     B    \n         \n%53sC<   D      E&bogus;", "");
    assert_int_equal(strlen(want), len);
    assert_string_equal(html, want);
}

static void test_unclosed_markup_blanks_to_the_end(void **state) {
    (void)state;
    char html[] = "text <script>never closed\nmore";
    tl_doc_strip_html(html, strlen(html));
    assert_string_equal(html, "text                     \n    ");
    char tag[] = "a <b";
    tl_doc_strip_html(tag, strlen(tag));
    assert_string_equal(tag, "a   ");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kinds_follow_the_file_name),
        cmocka_unit_test(test_binary_means_a_nul_in_the_first_8_kb),
        cmocka_unit_test(test_html_is_blanked_in_place),
        cmocka_unit_test(test_unclosed_markup_blanks_to_the_end),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
