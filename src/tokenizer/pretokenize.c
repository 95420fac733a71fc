/*
 * pretokenize.c — llama.cpp's pre-tokenizer expressions, compiled with PCRE2.
 *
 * llama.cpp runs these expressions through std::regex after replacing every
 * non-ASCII code point by one byte that stands for its Unicode category (or
 * through a hand-written matcher for the GPT-2 and Llama 3 expressions). Run
 * with PCRE2 on the real UTF-8 text they give the same words, provided a few
 * differences are taken care of when the expression is compiled:
 *
 *  - `\s` is exactly the Unicode White_Space set (llama.cpp's whitespace
 *    table); PCRE2's \s also matches U+180E. It is spelled out.
 *  - \p{Lu}, \p{Ll}, \p{Lt}, \p{Lm}, \p{Lo} all mean "any letter" in
 *    llama.cpp (its category byte does not distinguish them).
 *  - llama.cpp's \p{S} does not include '~'; expressions using \p{S} are
 *    written below with '~' taken out.
 *  - expressions without \p{..} see every non-ASCII whitespace character as
 *    a vertical tab, so literal ranges that span whitespace characters
 *    (U+0800-U+4E00, U+3000) must not match them.
 *  - '$' means the end of the piece only (PCRE2_DOLLAR_ENDONLY), as in
 *    ECMAScript.
 *
 * Invalid UTF-8 is allowed in the text (PCRE2_MATCH_INVALID_UTF): bytes that
 * do not form a character never match, so they end up as pieces of their
 * own and are later tokenized as bytes.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "tokenizer/pretokenize.h"

#include <pcre2.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"
#include "util/buffer.h"

/* ------------------------------------------------------------------------ */
/* The expressions                                                          */
/* ------------------------------------------------------------------------ */

#define CONTRACTIONS "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])"

/* GPT-2's expression. llama.cpp's hand-written matcher for it also accepts
 * a lone whitespace character (the final \s+), which std::regex would have
 * left as unmatched text: the words are the same either way. */
#define RE_GPT2 "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"

#define RE_LLAMA3                                                                                                      \
    CONTRACTIONS "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"                          \
                 "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"

#define RE_QWEN2                                                                                                       \
    CONTRACTIONS "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"                               \
                 "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"

/* Letters with a case (llama.cpp copies this list from DeepSeek's tokenizer). */
#define RE_CASED_LETTERS                                                                                               \
    "A-Za-z\\x{B5}\\x{C0}-\\x{D6}\\x{D8}-\\x{F6}\\x{F8}-\\x{1BA}\\x{1BC}-\\x{1BF}\\x{1C4}-"                            \
    "\\x{293}\\x{295}-\\x{2AF}\\x{370}-\\x{373}\\x{376}\\x{377}\\x{37B}-\\x{37D}\\x{37F}"                              \
    "\\x{386}\\x{388}-\\x{38A}\\x{38C}\\x{38E}-\\x{3A1}\\x{3A3}-\\x{3F5}\\x{3F7}-\\x{481}"                             \
    "\\x{48A}-\\x{52F}\\x{531}-\\x{556}\\x{10A0}-\\x{10C5}\\x{13A0}-\\x{13F5}\\x{13F8}-"                               \
    "\\x{13FD}\\x{1C90}-\\x{1CBA}\\x{1CBD}-\\x{1CBF}\\x{1D00}-\\x{1D2B}\\x{1D6B}-\\x{1D77}"                            \
    "\\x{1D79}-\\x{1D9A}\\x{1E00}-\\x{1F15}\\x{1F18}-\\x{1F1D}\\x{1F20}-\\x{1F45}\\x{1F48}-"                           \
    "\\x{1F4D}\\x{1F50}-\\x{1F57}\\x{1F59}\\x{1F5B}\\x{1F5D}\\x{1F5F}-\\x{1F7D}\\x{1F80}-"                             \
    "\\x{1FB4}\\x{1FB6}-\\x{1FBC}\\x{1FBE}\\x{1FC2}-\\x{1FC4}\\x{1FC6}-\\x{1FCC}\\x{1FD0}-"                            \
    "\\x{1FD3}\\x{1FD6}-\\x{1FDB}\\x{1FE0}-\\x{1FEC}\\x{1FF2}-\\x{1FF4}\\x{1FF6}-\\x{1FFC}"                            \
    "\\x{2102}\\x{2107}\\x{210A}-\\x{2113}\\x{2115}\\x{2119}-\\x{211D}\\x{2124}\\x{2126}"                              \
    "\\x{2128}\\x{212A}-\\x{212D}\\x{212F}-\\x{2134}\\x{2139}\\x{213C}-\\x{213F}\\x{2145}-"                            \
    "\\x{2149}\\x{214E}\\x{2183}\\x{2184}\\x{2C00}-\\x{2C7B}\\x{2C7E}-\\x{2CE4}\\x{2CEB}-"                             \
    "\\x{2CEE}\\x{2CF2}\\x{2CF3}\\x{A640}-\\x{A66D}\\x{A680}-\\x{A69B}\\x{A722}-\\x{A76F}"                             \
    "\\x{A771}-\\x{A787}\\x{A78B}-\\x{A78E}\\x{AB70}-\\x{ABBF}\\x{FB00}-\\x{FB06}\\x{FB13}-"                           \
    "\\x{FB17}\\x{FF21}-\\x{FF3A}\\x{FF41}-\\x{FF5A}\\x{10400}-\\x{1044F}\\x{104B0}-"                                  \
    "\\x{104D3}\\x{104D8}-\\x{104FB}\\x{10C80}-\\x{10CB2}\\x{10CC0}-\\x{10CF2}\\x{118A0}-"                             \
    "\\x{118DF}\\x{1E900}-\\x{1E943}"

/* CJK ideographs, everything from U+0800 to U+4E00, and Hangul, except the
 * whitespace characters in that range (llama.cpp never sees them there). */
#define RE_CJK_WIDE "(?:(?!\\s)[\\x{4E00}-\\x{9FA5}\\x{0800}-\\x{4E00}\\x{AC00}-\\x{D7FF}])+"

#define RE_CJK_KANA "[\\x{4E00}-\\x{9FA5}\\x{3040}-\\x{309F}\\x{30A0}-\\x{30FF}]+"

/* DeepSeek-V3 style, with '~' taken out of \p{S} (see the top comment). */
#define RE_DEEPSEEK3_WORDS                                                                                             \
    "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|(?:~|[^\\r\\n\\p{L}\\p{P}\\p{S}])?"                         \
    "[\\p{L}\\p{M}]+| ?(?:(?!~)[\\p{P}\\p{S}])+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"

#define RE_UPPER_LOWER_WORDS                                                                                           \
    "[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+"                                             \
    "(?:" CONTRACTIONS ")?|[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))+"                                              \
    "((?=[\\p{L}])([^A-Z]))*(?:" CONTRACTIONS ")?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|"                        \
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"

#define RE_PORO " ?[^(\\s|.,!?\\x{2026}\\x{3002}\\x{FF0C}\\x{3001}\\x{0964}\\x{06D4}\\x{060C})]+"

#define MAX_EXPRESSIONS 6

typedef struct pre_family {
    const char *expressions[MAX_EXPRESSIONS]; /* NULL-terminated */
} pre_family;

static const pre_family family_default = {{"[\\p{P}\\$\\+<=>\\^~\\|]+", RE_GPT2, "\\p{N}+", "[0-9][0-9][0-9]", NULL}};
static const pre_family family_gpt2 = {{RE_GPT2, NULL}};
static const pre_family family_llama3 = {{RE_LLAMA3, NULL}};
static const pre_family family_qwen2 = {{RE_QWEN2, NULL}};
static const pre_family family_starcoder = {{"\\p{N}", RE_GPT2, NULL}};
static const pre_family family_falcon = {{"[\\p{P}\\$\\+<=>\\^~\\|`]+", RE_GPT2, "[0-9][0-9][0-9]", NULL}};
static const pre_family family_deepseek_llm = {{
    "[\\r\\n]",
    "\\s?[" RE_CASED_LETTERS "]+",
    /* U+3000 is whitespace, so llama.cpp's "　-。" range starts at U+3001 */
    "\\s?[!-/:-~\\x{FF01}-\\x{FF0F}\\x{FF1A}-\\x{FF5E}\\x{2018}-\\x{201F}\\x{3001}-\\x{3002}]+",
    "\\s+$",
    RE_CJK_WIDE,
    "\\p{N}+",
}};
static const pre_family family_deepseek_coder = {
    {"[\\r\\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", RE_CJK_WIDE, "\\p{N}", NULL}};
static const pre_family family_deepseek3 = {{"\\p{N}{1,3}", RE_CJK_KANA, RE_DEEPSEEK3_WORDS, NULL}};
static const pre_family family_spark2_5 = {
    {"\\p{N}{1,3}", RE_CJK_KANA,
     "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|(?:~|[^\\r\\n\\p{L}\\p{P}\\p{S}])?"
     "[\\p{L}\\p{M}]+| ?(?:(?!~)[\\p{P}\\p{S}])+|[\\r\\n]|\\s+(?!\\S)|\\s+",
     "\\p{N}", NULL}};
static const pre_family family_poro = {{RE_PORO, NULL}};
static const pre_family family_viking = {{RE_PORO, "\\p{N}", NULL}};
static const pre_family family_tekken = {{"[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+|"
                                          "[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))+((?=[\\p{L}])([^A-Z]))*|\\p{N}|"
                                          " ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
                                          NULL}};
static const pre_family family_gpt4o = {{RE_UPPER_LOWER_WORDS, NULL}};
static const pre_family family_granite_multi = {
    {"[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}\\p{M}])([^a-z]))*((?=[\\p{L}\\p{M}])([^A-Z]))+"
     "(?:" CONTRACTIONS ")?|[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}\\p{M}])([^a-z]))+"
     "((?=[\\p{L}\\p{M}])([^A-Z]))*(?:" CONTRACTIONS ")?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+"
     "[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
     NULL}};
static const pre_family family_chameleon = {{"<sentinel:[0-9]+>", "(IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z",
                                             "([\\t\\n]|    |  )", "\\p{N}", "[\\p{P}!-/:-@\\[-`{-~]", RE_GPT2}};
static const pre_family family_jais2 = {
    {CONTRACTIONS "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
                  "\\s*[\\r\\n]+|\\s{512}(?!\\S)|\\s{256}(?!\\S)|\\s{128}(?!\\S)|\\s{64}(?!\\S)|"
                  "\\s{32}(?!\\S)|\\s{16}(?!\\S)|\\s{8}(?!\\S)|\\s{4}(?!\\S)|\\s{1,2}(?!\\S)|\\s{1}",
     NULL}};
static const pre_family family_qwen35 = {{CONTRACTIONS
                                          "|[^\\r\\n\\p{L}\\p{N}]?[\\p{L}\\p{M}]+|\\p{N}| ?[^\\s\\p{L}\\p{M}\\p{N}]+"
                                          "[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
                                          NULL}};
static const pre_family family_youtu = {
    {"[\\x{AC00}-\\x{D7A3}\\x{3131}-\\x{318E}]+|[\\x{FF01}\\x{2026}\\x{201C}\\x{201D}\\x{2018}"
     "\\x{2019}\\x{2014}\\x{FF1A}\\x{FF1B}\\x{FF0C}\\x{3001}-\\x{303F}\\x{FE30}-\\x{FE4F}]+|"
     "[\\x{3105}-\\x{312F}]+|" RE_CJK_KANA,
     "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+"
     "(?:" CONTRACTIONS ")?|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+"
     "[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?:" CONTRACTIONS ")?|\\p{N}| ?[^\\s\\p{L}\\p{N}]+"
     "[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
     NULL}};
static const pre_family family_seed_coder = {{CONTRACTIONS
                                              "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1}| ?[^\\s\\p{L}\\p{N}\\r\\n]+|"
                                              "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
                                              NULL}};
static const pre_family family_bailingmoe = {
    {"'(?:[sSdDmMtT]|[lL][lL]|[vV][eE]|[rR][eE])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}|"
     " ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]|\\s+(?!\\S)|\\s+",
     NULL}};
static const pre_family family_ufakzeka = {
    {"[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|"
     "\\s+(?!\\S)|\\s+",
     NULL}};
static const pre_family family_minicpm5 = {{"\\p{N}{1,3}",
                                            CONTRACTIONS
                                            "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}+| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
                                            "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
                                            NULL}};
static const pre_family family_laguna = {{"[^\\n]+|[\\n]+", RE_QWEN2, NULL}};
static const pre_family family_exaone_moe = {{CONTRACTIONS
                                              "|[^\\r\\n\\p{L}\\p{N}]?(?:\\p{L}\\p{M}*(?: \\p{L}\\p{M}*)*)+|\\p{N}|"
                                              " ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]?|\\s*[\\r\\n]|\\s+(?!\\S)|\\s+",
                                              NULL}};

/* Flags in the name table. */
enum {
    IGNORE_MERGES = 1 << 0,
    ADD_BOS = 1 << 1,
    KEEP_SPACES = 1 << 2, /* clean_spaces = false */
    ADD_SEP = 1 << 3,
    NO_BOS = 1 << 4,
    NFC = 1 << 5, /* Hugging Face's tokenizer.json of the family declares an NFC normalizer */
};

typedef struct pre_name {
    const char *name;
    const pre_family *family;
    unsigned flags;
} pre_name;

/* tokenizer.ggml.pre values, with llama.cpp's expressions and defaults. */
static const pre_name pre_names[] = {
    {"default", &family_default, 0},
    {"llama3", &family_llama3, IGNORE_MERGES | ADD_BOS},
    {"llama-v3", &family_llama3, IGNORE_MERGES | ADD_BOS},
    {"llama-bpe", &family_llama3, IGNORE_MERGES | ADD_BOS},
    {"falcon3", &family_llama3, IGNORE_MERGES | ADD_BOS},
    {"falcon-h1", &family_llama3, IGNORE_MERGES | ADD_BOS},
    {"pixtral", &family_llama3, IGNORE_MERGES | ADD_BOS},
    {"midm-2.0", &family_llama3, IGNORE_MERGES | ADD_BOS},
    {"lfm2", &family_llama3, IGNORE_MERGES | ADD_BOS},
    {"jina-v5-nano", &family_llama3, IGNORE_MERGES | ADD_BOS},
    {"minicpm5", &family_minicpm5, IGNORE_MERGES},
    {"deepseek-llm", &family_deepseek_llm, KEEP_SPACES},
    {"deepseek-coder", &family_deepseek_coder, KEEP_SPACES},
    {"deepseek-v3", &family_deepseek3, KEEP_SPACES},
    {"spark2_5", &family_spark2_5, KEEP_SPACES},
    {"youtu", &family_youtu, KEEP_SPACES | IGNORE_MERGES},
    {"falcon", &family_falcon, 0},
    {"mpt", &family_gpt2, 0},
    {"starcoder", &family_starcoder, 0},
    {"gpt-2", &family_gpt2, 0},
    {"phi-2", &family_gpt2, 0},
    {"jina-es", &family_gpt2, 0},
    {"jina-de", &family_gpt2, 0},
    {"gigachat", &family_gpt2, 0},
    {"jina-v2-es", &family_gpt2, 0},
    {"jina-v2-de", &family_gpt2, 0},
    {"a.x-4.0", &family_gpt2, 0},
    {"mellum", &family_gpt2, 0},
    {"modern-bert", &family_gpt2, 0},
    {"jais-2", &family_jais2, 0},
    {"jina-v1-en", &family_gpt2, ADD_SEP},
    {"jina-v2-code", &family_gpt2, ADD_SEP},
    {"roberta-bpe", &family_gpt2, ADD_SEP},
    {"refact", &family_starcoder, 0},
    {"command-r", &family_starcoder, KEEP_SPACES},
    {"qwen2", &family_qwen2, KEEP_SPACES | NFC}, /* Qwen2, Qwen2.5, Qwen3 */
    {"deepseek-r1-qwen", &family_qwen2, KEEP_SPACES},
    {"kormo", &family_qwen2, KEEP_SPACES},
    {"f2llmv2", &family_qwen2, KEEP_SPACES},
    {"qwen35", &family_qwen35, KEEP_SPACES},
    {"stablelm2", &family_qwen2, 0},
    {"olmo", &family_gpt2, 0},
    {"dbrx", &family_llama3, 0},
    {"smaug-bpe", &family_llama3, 0},
    {"poro-chat", &family_poro, KEEP_SPACES},
    {"glm4", &family_llama3, NO_BOS},
    {"chatglm-bpe", &family_llama3, NO_BOS},
    {"viking", &family_viking, KEEP_SPACES},
    {"jais", &family_gpt2, 0},
    {"tekken", &family_tekken, KEEP_SPACES | IGNORE_MERGES | ADD_BOS},
    {"smollm", &family_starcoder, KEEP_SPACES},
    {"codeshell", &family_starcoder, 0},
    {"bloom", &family_poro, 0},
    {"gpt3-finnish", &family_poro, 0},
    {"exaone", &family_starcoder, 0},
    {"exaone4", &family_gpt2, 0},
    {"exaone-moe", &family_exaone_moe, 0},
    {"chameleon", &family_chameleon, ADD_BOS | KEEP_SPACES},
    {"minerva-7b", &family_starcoder, 0},
    {"megrez", &family_qwen2, 0},
    {"gpt-4o", &family_gpt4o, KEEP_SPACES},
    {"llama4", &family_gpt4o, KEEP_SPACES},
    {"kanana2", &family_gpt4o, KEEP_SPACES},
    {"talkie", &family_gpt4o, KEEP_SPACES},
    {"granite-embed-multi-97m", &family_granite_multi, KEEP_SPACES | IGNORE_MERGES},
    {"trillion", &family_gpt2, KEEP_SPACES},
    {"granite-docling", &family_gpt2, KEEP_SPACES},
    {"bailingmoe", &family_bailingmoe, KEEP_SPACES},
    {"bailingmoe2", &family_bailingmoe, KEEP_SPACES},
    {"llada-moe", &family_bailingmoe, KEEP_SPACES},
    {"seed-coder", &family_seed_coder, KEEP_SPACES},
    {"hunyuan", &family_qwen2, KEEP_SPACES},
    {"hunyuan-dense", &family_deepseek3, KEEP_SPACES},
    {"hy_v4", &family_deepseek3, KEEP_SPACES},
    {"joyai-llm", &family_deepseek3, KEEP_SPACES},
    {"ufakzeka", &family_ufakzeka, KEEP_SPACES},
    {"grok-2", &family_qwen2, KEEP_SPACES},
    {"laguna", &family_laguna, KEEP_SPACES},
    {"minimax-m2", &family_gpt4o, KEEP_SPACES},
    {"solar-open", &family_qwen2, KEEP_SPACES},
    {"mellum2", &family_starcoder, 0},
};

/* ------------------------------------------------------------------------ */
/* Compiling                                                                */
/* ------------------------------------------------------------------------ */

/* Unicode White_Space, as llama.cpp's whitespace table has it. */
#define WHITESPACE_CLASS_BODY                                                                                          \
    "\\t\\n\\x0B\\f\\r \\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}"                          \
    "\\x{205F}\\x{3000}"

struct tl_pretokenizer {
    pcre2_code *expressions[MAX_EXPRESSIONS];
    int n_expressions;
};

typedef struct text_builder {
    char *data;
    size_t length, capacity;
    bool failed;
} text_builder;

static void append(text_builder *b, const char *s, size_t n) {
    if (b->failed) {
        return;
    }
    char *data = n < SIZE_MAX - b->length ? tl_grow(b->data, &b->capacity, b->length + n + 1, 1, 64) : NULL;
    if (!data) {
        b->failed = true;
        return;
    }
    b->data = data;
    memcpy(b->data + b->length, s, n);
    b->length += n;
    b->data[b->length] = '\0';
}

static void append_str(text_builder *b, const char *s) {
    append(b, s, strlen(s));
}

/* Rewrite an expression for PCRE2: spell out \s and \S, and widen the letter
 * sub-categories to \p{L} (see the top comment). */
static char *rewrite_expression(const char *expr) {
    text_builder b = {0};
    bool in_class = false;
    for (size_t i = 0; expr[i];) {
        char c = expr[i];
        if (c == '\\' && expr[i + 1]) {
            char e = expr[i + 1];
            if (e == 's') {
                append_str(&b, in_class ? WHITESPACE_CLASS_BODY : "[" WHITESPACE_CLASS_BODY "]");
                i += 2;
                continue;
            }
            if (e == 'S' && !in_class) {
                append_str(&b, "[^" WHITESPACE_CLASS_BODY "]");
                i += 2;
                continue;
            }
            if (e == 'p' && expr[i + 2] == '{' && expr[i + 3] == 'L' && expr[i + 4] && strchr("ultmo", expr[i + 4]) &&
                expr[i + 5] == '}') {
                append_str(&b, "\\p{L}");
                i += 6;
                continue;
            }
            append(&b, expr + i, 2);
            i += 2;
            continue;
        }
        if (c == '[' && !in_class) {
            in_class = true;
            append(&b, "[", 1);
            i++;
            if (expr[i] == '^') {
                append(&b, "^", 1);
                i++;
            }
            continue;
        }
        if (c == ']' && in_class) {
            in_class = false;
        }
        append(&b, &c, 1);
        i++;
    }
    if (b.failed) {
        free(b.data);
        return NULL;
    }
    return b.data;
}

static tl_status compile_expression(const char *expr, pcre2_code **out, tl_error *err) {
    char *pattern = rewrite_expression(expr);
    if (!pattern) {
        return tl_fail(err, TL_ERR_NOMEM, "out of memory compiling a pre-tokenizer expression");
    }
    int code = 0;
    PCRE2_SIZE offset = 0;
    uint32_t options = PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF | PCRE2_DOLLAR_ENDONLY;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, options, &code, &offset, NULL);
    if (!re) {
        PCRE2_UCHAR message[256];
        pcre2_get_error_message(code, message, sizeof message);
        tl_status st = tl_fail(err, TL_ERR_UNSUPPORTED, "pre-tokenizer expression does not compile at offset %zu: %s",
                               (size_t)offset, (const char *)message);
        free(pattern);
        return st;
    }
    free(pattern);
    /* JIT is only an optimisation: if it is unavailable the interpreter runs. */
    (void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
    *out = re;
    return TL_OK;
}

tl_status tl_pretokenizer_new(const char *name, tl_pretokenizer **out, tl_pre_defaults *defaults, tl_error *err) {
    if (!name || !*name) {
        name = "default";
    }
    const pre_name *entry = NULL;
    for (size_t i = 0; i < sizeof pre_names / sizeof pre_names[0]; i++) {
        if (strcmp(pre_names[i].name, name) == 0) {
            entry = &pre_names[i];
            break;
        }
    }
    if (!entry) {
        return tl_fail(err, TL_ERR_UNSUPPORTED, "tokenizer.ggml.pre: pre-tokenizer '%s' is not supported", name);
    }
    tl_pretokenizer *p = calloc(1, sizeof *p);
    if (!p) {
        return tl_fail(err, TL_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; i < MAX_EXPRESSIONS && entry->family->expressions[i]; i++) {
        tl_status st = compile_expression(entry->family->expressions[i], &p->expressions[i], err);
        if (st != TL_OK) {
            tl_pretokenizer_free(p);
            return st;
        }
        p->n_expressions = i + 1;
    }
    defaults->ignore_merges = entry->flags & IGNORE_MERGES;
    defaults->add_bos = entry->flags & ADD_BOS;
    defaults->clean_spaces = !(entry->flags & KEEP_SPACES);
    defaults->add_sep = entry->flags & ADD_SEP;
    defaults->no_bos = entry->flags & NO_BOS;
    defaults->nfc = entry->flags & NFC;
    *out = p;
    return TL_OK;
}

void tl_pretokenizer_free(tl_pretokenizer *p) {
    if (!p) {
        return;
    }
    for (int i = 0; i < p->n_expressions; i++) {
        pcre2_code_free(p->expressions[i]);
    }
    free(p);
}

/* ------------------------------------------------------------------------ */
/* Splitting                                                                */
/* ------------------------------------------------------------------------ */

bool tl_span_vec_push(tl_span_vec *v, size_t offset, size_t length) {
    tl_span *items = tl_grow(v->items, &v->capacity, v->count + 1, sizeof *items, 64);
    if (!items) {
        return false;
    }
    v->items = items;
    v->items[v->count++] = (tl_span){offset, length};
    return true;
}

void tl_span_vec_free(tl_span_vec *v) {
    free(v->items);
    v->items = NULL;
    v->count = v->capacity = 0;
}

/* Split one piece by one expression: its matches and the text between them
 * become pieces, in order. Returns false on out-of-memory. */
static bool split_piece(const pcre2_code *re, pcre2_match_data *md, const char *text, tl_span piece, tl_span_vec *out) {
    const char *subject = text + piece.offset;
    size_t pos = 0, last_end = 0;
    while (pos < piece.length) {
        int rc = pcre2_match(re, (PCRE2_SPTR)subject, piece.length, pos, 0, md, NULL);
        if (rc < 0 && rc != PCRE2_ERROR_NOMATCH) {
            /* The JIT's small fixed stack runs out on long runs of letters
             * or CJK text; the interpreter keeps its frames on the heap. */
            rc = pcre2_match(re, (PCRE2_SPTR)subject, piece.length, pos, PCRE2_NO_JIT, md, NULL);
        }
        if (rc < 0) {
            break; /* no more matches (or even the interpreter hit its limits:
                      the rest stays one piece) */
        }
        const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        size_t start = ov[0], end = ov[1];
        if (end <= start) {
            /* None of the expressions used can match empty text; if one did,
             * step over a character rather than loop. */
            pos = start + 1;
            continue;
        }
        if (start > last_end && !tl_span_vec_push(out, piece.offset + last_end, start - last_end)) {
            return false;
        }
        if (!tl_span_vec_push(out, piece.offset + start, end - start)) {
            return false;
        }
        last_end = pos = end;
    }
    if (last_end < piece.length && !tl_span_vec_push(out, piece.offset + last_end, piece.length - last_end)) {
        return false;
    }
    return true;
}

bool tl_pretokenize(const tl_pretokenizer *p, const char *text, size_t len, tl_span_vec *words, tl_span_vec *scratch) {
    if (len == 0) {
        return true;
    }
    pcre2_match_data *md = pcre2_match_data_create(1, NULL);
    if (!md) {
        return false;
    }
    /* Ping-pong between two piece lists; the last pass writes into words. */
    tl_span_vec current = {0};
    bool ok = tl_span_vec_push(&current, 0, len);
    for (int e = 0; ok && e < p->n_expressions; e++) {
        tl_span_vec *next = scratch;
        next->count = 0;
        for (size_t i = 0; ok && i < current.count; i++) {
            ok = split_piece(p->expressions[e], md, text, current.items[i], next);
        }
        /* swap current and scratch */
        tl_span_vec tmp = current;
        current = *next;
        *next = tmp;
    }
    for (size_t i = 0; ok && i < current.count; i++) {
        ok = tl_span_vec_push(words, current.items[i].offset, current.items[i].length);
    }
    tl_span_vec_free(&current);
    pcre2_match_data_free(md);
    return ok;
}
