/*
 * unigram_build.c — the project's own Unigram ("t5") vocabulary
 * (tl_unigram_vocab_write), for random-weight models of T5's shapes: FLAN-T5
 * has 32128 tokens, no T5 vocabulary file is at hand, and the tokenizer
 * should still cut real text into meaningful pieces.
 *
 * Layout, as T5's: <pad> = 0, </s> = 1, <unk> = 2, then the pieces by
 * falling score, then 100 user-defined <extra_id_N> at the very end
 * (<extra_id_0> last; fewer for vocabularies under 2000 tokens).
 *
 * Pieces come from the seed text below (the project's multilingual test
 * text: many scripts, code, odd whitespace), normalized the way the
 * tokenizer will see it: the charsmap applied, each word prefixed with
 * U+2581. In order:
 *   1. every character of it, and every printable ASCII character;
 *   2. its substrings of 2 to 12 characters that occur at least twice, and
 *      its whole words, most useful first (count × (length - 1));
 *   3. generated pieces to fill the size: "▁" + 1, 2, 3, ... lower-case
 *      letters, then the same without "▁", letters in English frequency
 *      order.
 * A corpus piece scores the natural log of its relative frequency (count /
 * sum of counts, unseen ASCII counted once), so longer frequent pieces win
 * Viterbi over their parts; generated pieces score below all of them,
 * decreasing in generation order. Logarithms are computed in 16.16 fixed
 * point with integer arithmetic, so the scores are the same bits on every
 * platform.
 *
 * The precompiled charsmap (tokenizer.ggml.precompiled_charsmap) holds a few
 * NFKC-style rules: full-width ASCII to ASCII, ligatures and vulgar
 * fractions spelled out, no-break and ideographic spaces (and tab, CR, LF)
 * to spaces, zero-width space and soft hyphen removed, some base letter +
 * combining mark pairs composed. add_space_prefix and
 * remove_extra_whitespaces are on, as in T5.
 */
#include "authoring/unigram_build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authoring/charsmap_build.h"
#include "tokenizer/charsmap.h"
#include "tokenizer/pretokenize.h"
#include "tokenizer/string_map.h"
#include "tokenizer/utf8.h"
#include "tokenizer/vocab.h"
#include "util/error.h"

#define MAX_PIECE_CHARS 12
#define MAX_EXTRA_IDS 100
#define METASPACE "\xE2\x96\x81"

static const char seed_text[] =
    "The quick brown fox jumps over the lazy dog; then it naps under a tree.\n"
    "It's a small test, isn't it? We'll see: they'd said you're fine and I'm sure we've met.\n"
    "Numbers: 0, 7, 42, 1234, 98765, 3.14159, 1e-9, -273.15, 1,000,000 and 2024-06-30.\n"
    "Prices: $19.99, EUR 5 (cinq), 100% sure, 50/50 odds, a+b=c, x^2 <= y, ~home/user.\n"
    "\n"
    "Accents: café, naïve, jalapeño, façade, résumé, crème brûlée, São Paulo, Ångström.\n"
    "Deutsch: Grüße aus München! Die Straße ist schön, aber der Bär frisst Äpfel und Öl.\n"
    "Français : « Où est la bibliothèque » demanda-t-il. L'été dernier, j'ai vu Noël.\n"
    "Русский: Съешь же ещё этих мягких французских булок, да выпей чаю. Привет, мир!\n"
    "Ελληνικά: Καλημέρα κόσμε! Η γρήγορη καφέ αλεπού πηδάει πάνω από τον τεμπέλη σκύλο.\n"
    "中文：我们今天去公园散步，天气很好。机器学习和自然语言处理很有意思。\n"
    "日本語：今日はいい天気ですね。カタカナとひらがなと漢字を混ぜて書きます。東京タワー！\n"
    "한국어: 안녕하세요, 세계! 오늘 날씨가 정말 좋네요. 한글은 아름다운 문자입니다.\n"
    "العربية: مرحبا بالعالم! اللغة العربية تكتب من اليمين إلى اليسار.\n"
    "हिन्दी: नमस्ते दुनिया! आज मौसम बहुत अच्छा है, चलो बाहर घूमने चलें।\n"
    "ไทย: สวัสดีครับ ยินดีที่ได้รู้จัก\n"
    "Tiếng Việt: Xin chào thế giới, hôm nay trời đẹp quá.\n"
    // clang-format off
    "Emoji: 😀 😂 🦙 🚀🌍 ❤️ 👍🏽 👩‍💻 👨‍👩‍👧‍👦 🏳️‍🌈 🇩🇪🇯🇵 ✅ ☕ 1️⃣\n"
    // clang-format on
    "Symbols: © ® ™ ° ± × ÷ ∑ ∞ √ ≈ ≠ ≤ ≥ → ← ↔ • … – — “quotes” ‘single’ «guillemets» ¿qué? ¡sí!\n"
    "\n"
    "def fibonacci(n: int) -> int:\n"
    "    \"\"\"Return the n-th Fibonacci number.\"\"\"\n"
    "    a, b = 0, 1\n"
    "    for _ in range(n):\n"
    "        a, b = b, a + b\n"
    "    return a\n"
    "\n"
    "int main(void) {\n"
    "\tprintf(\"hello\\tworld\\n\");\n"
    "\tif (argc > 1) return 0;\n"
    "\treturn -1;\n"
    "}\n"
    "\n"
    "    indented with four spaces\n"
    "\t\ttwo tabs, then trailing spaces   \n"
    "mixed \t tabs\tand  spaces   between    words\n"
    "line with CRLF ending\n"
    "blank lines follow\n"
    "\n"
    "\n"
    "three spaces at the end   \n"
    "<html><body class=\"main\">&lt;tag&gt; &amp; entities</body></html>\n"
    "{\"key\": \"value\", \"list\": [1, 2, 3], \"nested\": {\"ok\": true, \"none\": null}}\n"
    "https://example.com/path?query=1&lang=en#anchor and user@example.org\n"
    "UPPER CASE WORDS, MiXeD CaSe, camelCaseIdentifier, snake_case_name, kebab-case-name.\n"
    "Don't DON'T We'LL they'RE I'M she'S it'D you'VE\n";

/* Rules besides full-width ASCII (which is generated). */
static const tl_charsmap_rule listed_rules[] = {
    {"\t", " "},
    {"\n", " "},
    {"\r", " "},
    {"\xC2\xA0", " "},      /* no-break space */
    {"\xE3\x80\x80", " "},  /* ideographic space */
    {"\xE2\x80\x8B", ""},   /* zero-width space */
    {"\xC2\xAD", ""},       /* soft hyphen */
    {"\xEF\xAC\x80", "ff"}, /* ligatures */
    {"\xEF\xAC\x81", "fi"},
    {"\xEF\xAC\x82", "fl"},
    {"\xEF\xAC\x83", "ffi"},
    {"\xEF\xAC\x84", "ffl"},
    {"\xE2\x80\xA6", "..."}, /* ellipsis */
    {"\xE2\x84\xA2", "TM"},  /* trade mark */
    {"\xC2\xB9", "1"},       /* superscripts */
    {"\xC2\xB2", "2"},
    {"\xC2\xB3", "3"},
    {"\xC2\xBD", "1\xE2\x81\x84"
                 "2"}, /* one half: 1, fraction slash, 2 */
    {"\xC2\xBC", "1\xE2\x81\x84"
                 "4"},
    {"\xE2\x91\xA0", "1"}, /* circled digits */
    {"\xE2\x91\xA1", "2"},
    {"\xE2\x91\xA2", "3"},
    {"\xE2\x84\xAB", "\xC3\x85"}, /* angstrom sign */
    {"A\xCC\x8A", "\xC3\x85"},    /* letter + combining mark */
    {"a\xCC\x80", "\xC3\xA0"},
    {"c\xCC\xA7", "\xC3\xA7"},
    {"e\xCC\x81", "\xC3\xA9"},
    {"o\xCC\x88", "\xC3\xB6"},
    {"u\xCC\x88", "\xC3\xBC"},
    {"\xEF\xBD\xB1", "\xE3\x82\xA2"}, /* half-width katakana */
    {"\xEF\xBD\xB6", "\xE3\x82\xAB"},
};

#define N_FULL_WIDTH (0x7E - 0x21 + 1)
#define N_RULES (N_FULL_WIDTH + sizeof listed_rules / sizeof listed_rules[0])

/* The charsmap blob of the rules above. */
static tl_status build_charsmap(uint8_t **blob, size_t *size, tl_error *err) {
    static char full_width[N_FULL_WIDTH][2][4];
    tl_charsmap_rule rules[N_RULES];
    for (int i = 0; i < N_FULL_WIDTH; i++) {
        size_t n = tl_utf8_encode(0xFF01 + (uint32_t)i, full_width[i][0]);
        full_width[i][0][n] = '\0';
        full_width[i][1][0] = (char)(0x21 + i);
        full_width[i][1][1] = '\0';
        rules[i] = (tl_charsmap_rule){full_width[i][0], full_width[i][1]};
    }
    memcpy(rules + N_FULL_WIDTH, listed_rules, sizeof listed_rules);
    return tl_charsmap_build(rules, N_RULES, blob, size, err);
}

/* ------------------------------------------------------------------------ */
/* Deterministic logarithms                                                 */
/* ------------------------------------------------------------------------ */

/* log2(x) in 16.16 fixed point, x >= 1, by repeated squaring of the
 * mantissa: integer arithmetic only. */
static int32_t log2_q16(uint32_t x) {
    int32_t integer = 31;
    while (!(x >> integer)) integer--;
    uint64_t m = (uint64_t)x << (31 - integer); /* [2^31, 2^32): 1.0 = 2^31 */
    int32_t fraction = 0;
    for (int bit = 15; bit >= 0; bit--) {
        m = (m * m) >> 31;
        if (m >= (1ull << 32)) {
            m >>= 1;
            fraction |= 1 << bit;
        }
    }
    return integer * 65536 + fraction;
}

/* A fixed-point log2 difference as a natural-log score: one multiplication,
 * correctly rounded, so the same on every platform. */
static float score_of(int32_t q16) {
    return (float)((double)q16 * (0.6931471805599453 / 65536.0));
}

/* ------------------------------------------------------------------------ */
/* Candidate pieces                                                         */
/* ------------------------------------------------------------------------ */

typedef struct piece {
    tl_str text;
    uint32_t count;
    uint32_t n_chars;
    bool whole_word;
    int32_t score_q16;
} piece;

typedef struct piece_set {
    piece *items;
    tl_str *texts; /* texts[i] = items[i].text, for the map */
    size_t count, capacity;
    tl_token_map map;
} piece_set;

/* The index of the piece with this text, added with count 0 if new. */
static int32_t piece_find_or_add(piece_set *s, const char *text, size_t len, uint32_t n_chars) {
    int32_t id = tl_token_map_find(&s->map, text, len);
    if (id >= 0 || s->count == s->capacity) return id;
    id = (int32_t)s->count++;
    s->items[id] = (piece){.text = {text, len}, .n_chars = n_chars};
    s->texts[id] = s->items[id].text;
    tl_token_map_insert(&s->map, id);
    return id;
}

static void end_word(tl_span_vec *words, size_t end) {
    tl_span *last = &words->items[words->count - 1];
    last->length = end - last->offset;
}

/* The seed text as the tokenizer normalizes it: the charsmap applied, and
 * words ("▁" + a run of non-spaces) one after another. *words receives the
 * start of each word. */
static bool normalize_seed(const tl_charsmap *map, char **out, size_t *out_len, tl_span_vec *words) {
    size_t len = sizeof seed_text - 1;
    char *buf = malloc(4 * len + 8);
    if (!buf) return false;
    size_t n = 0;
    bool in_word = false;
    for (size_t i = 0; i < len;) {
        const char *repl;
        size_t repl_len;
        size_t used = tl_charsmap_match(map, seed_text + i, len - i, &repl, &repl_len);
        if (used == 0) {
            repl = seed_text + i;
            used = repl_len = tl_utf8_char_len(seed_text + i, len - i);
        }
        i += used;
        for (size_t k = 0; k < repl_len; k++) {
            if (repl[k] == ' ') {
                if (in_word) end_word(words, n);
                in_word = false;
                continue;
            }
            if (!in_word) {
                if (!tl_span_vec_push(words, n, 0)) {
                    free(buf);
                    return false;
                }
                memcpy(buf + n, METASPACE, 3);
                n += 3;
                in_word = true;
            }
            buf[n++] = repl[k];
        }
    }
    if (in_word) end_word(words, n);
    *out = buf;
    *out_len = n;
    return true;
}

/* Counts every substring of up to MAX_PIECE_CHARS characters of every word. */
static void count_substrings(piece_set *s, const char *text, const tl_span_vec *words) {
    for (size_t w = 0; w < words->count; w++) {
        const char *word = text + words->items[w].offset;
        size_t len = words->items[w].length;
        size_t starts[4096];
        size_t n_chars = 0;
        for (size_t i = 0; i < len && n_chars < 4095; i += tl_utf8_char_len(word + i, len - i)) {
            starts[n_chars++] = i;
        }
        starts[n_chars] = len;
        for (size_t a = 0; a < n_chars; a++) {
            for (size_t b = a + 1; b <= n_chars && b - a <= MAX_PIECE_CHARS; b++) {
                int32_t id = piece_find_or_add(s, word + starts[a], starts[b] - starts[a], (uint32_t)(b - a));
                if (id < 0) continue;
                s->items[id].count++;
                if (a == 0 && b == n_chars) s->items[id].whole_word = true;
            }
        }
    }
}

/* Most useful first; ties by length, then bytes, so the order is total. */
static int compare_usefulness(const void *pa, const void *pb) {
    const piece *a = pa, *b = pb;
    uint64_t ga = (uint64_t)a->count * (a->n_chars - 1), gb = (uint64_t)b->count * (b->n_chars - 1);
    if (ga != gb) return ga > gb ? -1 : 1;
    if (a->n_chars != b->n_chars) return a->n_chars > b->n_chars ? -1 : 1;
    size_t n = a->text.len < b->text.len ? a->text.len : b->text.len;
    int c = memcmp(a->text.ptr, b->text.ptr, n);
    if (c) return c;
    return (a->text.len > b->text.len) - (a->text.len < b->text.len);
}

/* Best score first, then bytes: the order of the ids. */
static int compare_scores(const void *pa, const void *pb) {
    const piece *a = pa, *b = pb;
    if (a->score_q16 != b->score_q16) return a->score_q16 > b->score_q16 ? -1 : 1;
    size_t n = a->text.len < b->text.len ? a->text.len : b->text.len;
    int c = memcmp(a->text.ptr, b->text.ptr, n);
    if (c) return c;
    return (a->text.len > b->text.len) - (a->text.len < b->text.len);
}

static bool is_reserved_text(const tl_str *t) {
    static const char *const reserved[] = {"<pad>", "</s>", "<unk>"};
    for (size_t i = 0; i < 3; i++) {
        if (t->len == strlen(reserved[i]) && memcmp(t->ptr, reserved[i], t->len) == 0) return true;
    }
    return t->len > 10 && memcmp(t->ptr, "<extra_id_", 10) == 0;
}

/* The k-th generated piece (k from 0) into buf: "▁" + letters, then the
 * letters alone, for 1, 2, 3, ... letters. Returns its length. */
static size_t generated_piece(uint64_t k, char *buf) {
    static const char letters[] = "etaoinshrdlcumwfgypbvkjxqz";
    uint64_t block = 26;
    size_t n_letters = 1;
    while (k >= 2 * block) {
        k -= 2 * block;
        block *= 26;
        n_letters++;
    }
    size_t n = 0;
    if (k < block) {
        memcpy(buf, METASPACE, 3);
        n = 3;
    } else {
        k -= block;
    }
    for (size_t i = n_letters; i > 0; i--) {
        buf[n + i - 1] = letters[k % 26];
        k /= 26;
    }
    return n + n_letters;
}

/* ------------------------------------------------------------------------ */
/* The vocabulary                                                           */
/* ------------------------------------------------------------------------ */

typedef struct build_state {
    tl_charsmap map;
    uint8_t *charsmap_blob;
    size_t charsmap_size;
    char *text; /* normalized seed text */
    size_t text_len;
    tl_span_vec words;
    piece_set set;
    char *generated; /* storage of generated pieces */
    const char **token_texts;
    char *token_pool;
    float *scores;
    int32_t *types;
} build_state;

static void free_state(build_state *b) {
    tl_charsmap_free(&b->map);
    free(b->charsmap_blob);
    free(b->text);
    tl_span_vec_free(&b->words);
    free(b->set.items);
    free(b->set.texts);
    tl_token_map_free(&b->set.map);
    free(b->generated);
    free(b->token_texts);
    free(b->token_pool);
    free(b->scores);
    free(b->types);
}

/* Chooses n_pieces pieces into b->set.items[0..n_pieces) with scores. */
static tl_status choose_pieces(build_state *b, uint32_t n_pieces, uint32_t n_vocab, tl_error *err) {
    piece_set *s = &b->set;
    /* Every printable ASCII character, seen or not. */
    for (char c = 0x21; c < 0x7F; c++) {
        char *slot = b->generated + (size_t)(c - 0x21);
        *slot = c;
        piece_find_or_add(s, slot, 1, 1);
    }
    count_substrings(s, b->text, &b->words);

    /* Characters first, then the multi-character pieces worth keeping. */
    size_t n_chars = 0;
    for (size_t i = 0; i < s->count; i++) {
        if (s->items[i].n_chars == 1) {
            piece t = s->items[i];
            s->items[i] = s->items[n_chars];
            s->items[n_chars++] = t;
        }
    }
    if (n_chars > n_pieces) {
        return tl_fail(err, TL_ERR_ARGUMENT, "a Unigram vocabulary of %u tokens is too small: it needs at least %zu",
                       n_vocab, n_vocab - n_pieces + n_chars);
    }
    size_t n_kept = n_chars;
    for (size_t i = n_chars; i < s->count; i++) {
        piece *p = &s->items[i];
        if ((p->count >= 2 || p->whole_word) && !is_reserved_text(&p->text)) {
            s->items[n_kept++] = *p;
        }
    }
    qsort(s->items + n_chars, n_kept - n_chars, sizeof *s->items, compare_usefulness);
    size_t n_corpus = n_kept < n_pieces ? n_kept : n_pieces;

    uint32_t total = 0;
    for (size_t i = 0; i < n_corpus; i++) total += s->items[i].count ? s->items[i].count : 1;
    int32_t log_total = log2_q16(total), lowest = 0;
    for (size_t i = 0; i < n_corpus; i++) {
        piece *p = &s->items[i];
        p->score_q16 = log2_q16(p->count ? p->count : 1) - log_total;
        if (p->score_q16 < lowest) lowest = p->score_q16;
    }

    /* The map must now find exactly the chosen pieces (the generated ones
     * are checked against it). */
    tl_token_map_free(&s->map);
    for (size_t i = 0; i < n_corpus; i++) s->texts[i] = s->items[i].text;
    if (!tl_token_map_init(&s->map, s->texts, n_pieces)) {
        return tl_fail(err, TL_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < n_corpus; i++) tl_token_map_insert(&s->map, (int32_t)i);
    size_t n = n_corpus;
    char *g = b->generated + 0x7F;
    for (uint64_t k = 0; n < n_pieces; k++) {
        size_t len = generated_piece(k, g);
        if (tl_token_map_find(&s->map, g, len) >= 0) continue;
        s->items[n] = (piece){
            .text = {g, len}, .count = 0, .n_chars = 1, .score_q16 = lowest - 65536 - 16 * (int32_t)(n - n_corpus)};
        s->texts[n] = s->items[n].text;
        tl_token_map_insert(&s->map, (int32_t)n);
        g += len;
        n++;
    }
    qsort(s->items, n_pieces, sizeof *s->items, compare_scores);
    return TL_OK;
}

static tl_status write_vocab(build_state *b, gguf_writer *w, uint32_t n_vocab, uint32_t n_extra, tl_error *err) {
    uint32_t n_pieces = n_vocab - 3 - n_extra;
    size_t pool_size = 64 + (size_t)n_extra * 16;
    for (uint32_t i = 0; i < n_pieces; i++) pool_size += b->set.items[i].text.len + 1;
    b->token_texts = malloc(n_vocab * sizeof *b->token_texts);
    b->token_pool = malloc(pool_size);
    b->scores = calloc(n_vocab, sizeof *b->scores);
    b->types = malloc(n_vocab * sizeof *b->types);
    if (!b->token_texts || !b->token_pool || !b->scores || !b->types) {
        return tl_fail(err, TL_ERR_NOMEM, "out of memory");
    }
    static const char *const reserved[3] = {"<pad>", "</s>", "<unk>"};
    static const int32_t reserved_types[3] = {TL_TOKEN_TYPE_CONTROL, TL_TOKEN_TYPE_CONTROL, TL_TOKEN_TYPE_UNKNOWN};
    for (uint32_t id = 0; id < 3; id++) {
        b->token_texts[id] = reserved[id];
        b->types[id] = reserved_types[id];
    }
    char *p = b->token_pool;
    for (uint32_t i = 0; i < n_pieces; i++) {
        const piece *piece = &b->set.items[i];
        memcpy(p, piece->text.ptr, piece->text.len);
        p[piece->text.len] = '\0';
        b->token_texts[3 + i] = p;
        b->scores[3 + i] = score_of(piece->score_q16);
        b->types[3 + i] = TL_TOKEN_TYPE_NORMAL;
        p += piece->text.len + 1;
    }
    for (uint32_t k = 0; k < n_extra; k++) {
        uint32_t id = n_vocab - 1 - k;
        int n = snprintf(p, 16, "<extra_id_%u>", k);
        b->token_texts[id] = p;
        b->types[id] = TL_TOKEN_TYPE_USER_DEFINED;
        p += n + 1;
    }
    gguf_writer_set_str(w, "tokenizer.ggml.model", "t5");
    gguf_writer_set_str(w, "tokenizer.ggml.pre", "default");
    gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", b->token_texts, n_vocab);
    gguf_writer_set_arr(w, "tokenizer.ggml.scores", GGUF_TYPE_FLOAT32, b->scores, n_vocab);
    gguf_writer_set_arr(w, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, b->types, n_vocab);
    gguf_writer_set_bool(w, "tokenizer.ggml.add_space_prefix", true);
    gguf_writer_set_bool(w, "tokenizer.ggml.remove_extra_whitespaces", true);
    gguf_writer_set_arr(w, "tokenizer.ggml.precompiled_charsmap", GGUF_TYPE_UINT8, b->charsmap_blob, b->charsmap_size);
    gguf_writer_set_u32(w, "tokenizer.ggml.eos_token_id", 1);
    gguf_writer_set_u32(w, "tokenizer.ggml.unknown_token_id", 2);
    gguf_writer_set_u32(w, "tokenizer.ggml.padding_token_id", 0);
    return TL_OK;
}

tl_status tl_unigram_vocab_write(gguf_writer *w, uint32_t n_vocab, tl_error *err) {
    if (n_vocab > (1u << 22)) {
        return tl_fail(err, TL_ERR_ARGUMENT, "a Unigram vocabulary of %u tokens is too large", n_vocab);
    }
    uint32_t n_extra = n_vocab >= 2000 ? MAX_EXTRA_IDS : n_vocab / 20;
    uint32_t n_pieces = n_vocab > 3 + n_extra ? n_vocab - 3 - n_extra : 0;
    build_state b = {0};
    tl_status st = build_charsmap(&b.charsmap_blob, &b.charsmap_size, err);
    if (st == TL_OK) {
        st = tl_charsmap_init(&b.map, b.charsmap_blob, b.charsmap_size, "charsmap", err);
    }
    if (st == TL_OK && !normalize_seed(&b.map, &b.text, &b.text_len, &b.words)) {
        st = tl_fail(err, TL_ERR_NOMEM, "out of memory");
    }
    if (st == TL_OK) {
        /* Room for every substring, and for the pieces chosen in the end. */
        size_t room = b.text_len * MAX_PIECE_CHARS + 0x7F;
        if (room < n_pieces) room = n_pieces;
        b.set.capacity = room;
        b.set.items = calloc(room, sizeof *b.set.items);
        b.set.texts = calloc(room, sizeof *b.set.texts);
        /* generated pieces: each at most 3 + 5 letters long for n_vocab < 2^22 */
        b.generated = malloc(0x7F + (size_t)n_pieces * 8 + 64);
        if (!b.set.items || !b.set.texts || !b.generated || !tl_token_map_init(&b.set.map, b.set.texts, room)) {
            st = tl_fail(err, TL_ERR_NOMEM, "out of memory");
        }
    }
    if (st == TL_OK) st = choose_pieces(&b, n_pieces, n_vocab, err);
    if (st == TL_OK) st = write_vocab(&b, w, n_vocab, n_extra, err);
    free_state(&b);
    return st;
}
