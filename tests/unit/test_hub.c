/*
 * test_hub.c — the Hub client's parts that need no network (hub/hub.h):
 * every reference form and the one-line refusal of malformed ones, the store
 * names pulls use, the quantization tag in a file's name, and which files
 * a reference selects (tag, default, split parts, mmproj left out, the
 * no-match error listing the tags there are).
 */
#include <string.h>

#include "hub/hub.h"
#include "test_support.h"

static void test_reference_forms(void **state) {
    (void)state;
    tl_hub_ref r;
    tl_error err;
    assert_int_equal(tl_hub_parse_ref("hf.co/bartowski/Qwen2.5-0.5B-Instruct-GGUF:Q4_K_M", &r, &err), TL_OK);
    assert_string_equal(r.repo, "bartowski/Qwen2.5-0.5B-Instruct-GGUF");
    assert_string_equal(r.quant, "Q4_K_M");
    assert_string_equal(r.file, "");
    assert_null(r.catalogue_name);
    assert_int_equal(tl_hub_parse_ref("huggingface.co/Org/Repo", &r, &err), TL_OK);
    assert_string_equal(r.repo, "Org/Repo");
    assert_string_equal(r.quant, "");
    assert_int_equal(tl_hub_parse_ref("https://huggingface.co/Org/Repo:iq4_xs", &r, &err), TL_OK);
    assert_string_equal(r.repo, "Org/Repo");
    assert_string_equal(r.quant, "iq4_xs");
    assert_int_equal(tl_hub_parse_ref("Org/Repo:latest", &r, &err), TL_OK);
    assert_string_equal(r.quant, ""); /* latest = the default */
    assert_int_equal(tl_hub_parse_ref("Org/Repo/sub/model-Q8_0.gguf", &r, &err), TL_OK);
    assert_string_equal(r.repo, "Org/Repo");
    assert_string_equal(r.file, "sub/model-Q8_0.gguf");
    assert_int_equal(tl_hub_parse_ref("qwen2.5:0.5b", &r, &err), TL_OK);
    assert_string_equal(r.catalogue_name, "qwen2.5:0.5b");
    assert_string_equal(r.repo, "bartowski/Qwen2.5-0.5B-Instruct-GGUF");
    assert_string_equal(r.default_quant, "Q4_K_M");
    assert_int_equal(tl_hub_parse_ref("all-minilm:latest", &r, &err), TL_OK);
    assert_string_equal(r.catalogue_name, "all-minilm");
}

static void expect_bad(const char *ref, const char *pattern) {
    tl_hub_ref r;
    tl_error err = {0};
    assert_int_equal(tl_hub_parse_ref(ref, &r, &err), TL_ERR_ARGUMENT);
    assert_null(strchr(err.message, '\n'));
    if (!strstr(err.message, pattern)) fail_msg("'%s': '%s' does not say '%s'", ref, err.message, pattern);
}

static void test_malformed_references_are_refused_in_one_line(void **state) {
    (void)state;
    expect_bad("", "empty");
    expect_bad("nosuchmodel", "not in the catalogue");
    expect_bad("hf.co/onlyorg", "expected hf.co/ORG/REPO");
    expect_bad("Org/Re po", "spaces");
    expect_bad("Org/-repo", "ORG and REPO");
    expect_bad("Org/re..po", "ORG and REPO");
    expect_bad("/repo", "ORG and REPO");
    expect_bad("Org/Repo:", "tag after ':'");
    expect_bad("Org/Repo:Q4/x", "tag after ':'");
    expect_bad("Org/Repo/model.bin", ".gguf file");
    expect_bad("Org/Repo/../x.gguf", "bad file path");
    expect_bad("https://example.com/Org/Repo", "only huggingface.co");
}

static void expect_store_name(const char *ref, const char *want) {
    char name[256];
    tl_error err;
    assert_int_equal(tl_hub_store_name(ref, name, sizeof name, &err), TL_OK);
    if (strcmp(name, want) != 0) fail_msg("%s: store name %s, expected %s", ref, name, want);
}

static void test_store_names_and_what_run_may_pull(void **state) {
    (void)state;
    expect_store_name("hf.co/Org/Repo:Q4_K_M", "hf.co/Org/Repo:Q4_K_M");
    expect_store_name("https://huggingface.co/Org/Repo", "huggingface.co/Org/Repo:latest");
    expect_store_name("Org/Repo:q8_0", "Org/Repo:q8_0");
    expect_store_name("Org/Repo/dir/a-Q8_0.gguf", "Org/Repo/dir/a-Q8_0.gguf:latest");
    expect_store_name("smollm2:1.7b", "smollm2:1.7b");
    expect_store_name("all-minilm", "all-minilm:latest");
    assert_true(tl_hub_looks_like_ref("Org/Repo:Q4_K_M"));
    assert_true(tl_hub_looks_like_ref("qwen3:0.6b"));
    assert_false(tl_hub_looks_like_ref("model.gguf"));
    assert_false(tl_hub_looks_like_ref("models/model.gguf")); /* a missing path, not a repository */
    assert_false(tl_hub_looks_like_ref("./x"));
    assert_false(tl_hub_looks_like_ref("mymodel"));
}

static void expect_tag(const char *file, const char *tag) {
    char out[48];
    if (!tag) {
        assert_false(tl_hub_quant_tag(file, out, sizeof out));
        return;
    }
    assert_true(tl_hub_quant_tag(file, out, sizeof out));
    if (strcmp(out, tag) != 0) fail_msg("%s: tag %s, expected %s", file, out, tag);
}

static void test_quant_tag_in_file_names(void **state) {
    (void)state;
    expect_tag("Qwen2.5-0.5B-Instruct-Q4_K_M.gguf", "Q4_K_M");
    expect_tag("qwen2.5-0.5b-instruct-q4_k_m.gguf", "Q4_K_M");
    expect_tag("tinyllama-1.1b-chat-v1.0.Q4_K_M.gguf", "Q4_K_M");
    expect_tag("qwen2.5-1.5b-instruct_q3_k_m.gguf", "Q3_K_M");
    expect_tag("SmolLM2-1.7B-Instruct-IQ4_XS.gguf", "IQ4_XS");
    expect_tag("Phi-3-mini-4k-instruct-q4.gguf", "Q4");
    expect_tag("nomic-embed-text-v1.f16.gguf", "F16");
    expect_tag("model-bf16.gguf", "BF16");
    expect_tag("Q8_0/big-model-Q8_0-00001-of-00003.gguf", "Q8_0");
    expect_tag("x-TQ1_0.gguf", "TQ1_0");
    expect_tag("Qwen3-0.6B.gguf", NULL);
    expect_tag("stories260K.gguf", NULL);
}

static int select_paths(const tl_hub_ref *r, const tl_hub_file *files, int n, char *out, size_t out_size,
                        tl_error *err) {
    int chosen[8], n_chosen;
    tl_status s = tl_hub_select_files(r, files, n, chosen, 8, &n_chosen, err);
    out[0] = '\0';
    if (s != TL_OK) return -1;
    for (int i = 0; i < n_chosen; i++) {
        if (i) strncat(out, " ", out_size - strlen(out) - 1);
        strncat(out, files[chosen[i]].path, out_size - strlen(out) - 1);
    }
    return n_chosen;
}

static void test_files_a_reference_selects(void **state) {
    (void)state;
    const tl_hub_file files[] = {
        {"README.md", 10, NULL},
        {"mmproj-model-Q4_K_M.gguf", 10, NULL},
        {"m-Q8_0.gguf", 10, NULL},
        {"m-Q4_K_M.gguf", 10, NULL},
        {"m-IQ4_XS.gguf", 10, NULL},
        {"big/m-F16-00002-of-00002.gguf", 10, NULL},
        {"big/m-F16-00001-of-00002.gguf", 10, NULL},
    };
    int n = (int)(sizeof files / sizeof files[0]);
    tl_hub_ref r;
    tl_error err;
    char out[512];
    assert_int_equal(tl_hub_parse_ref("o/r", &r, &err), TL_OK);
    assert_int_equal(select_paths(&r, files, n, out, sizeof out, &err), 1);
    assert_string_equal(out, "m-Q4_K_M.gguf"); /* the default, not the mmproj */
    assert_int_equal(tl_hub_parse_ref("o/r:iq4_xs", &r, &err), TL_OK);
    assert_int_equal(select_paths(&r, files, n, out, sizeof out, &err), 1);
    assert_string_equal(out, "m-IQ4_XS.gguf");
    assert_int_equal(tl_hub_parse_ref("o/r:F16", &r, &err), TL_OK);
    assert_int_equal(select_paths(&r, files, n, out, sizeof out, &err), 2);
    assert_string_equal(out, "big/m-F16-00001-of-00002.gguf big/m-F16-00002-of-00002.gguf");
    assert_int_equal(tl_hub_parse_ref("o/r/big/m-F16-00001-of-00002.gguf", &r, &err), TL_OK);
    assert_int_equal(select_paths(&r, files, n, out, sizeof out, &err), 2);
    assert_int_equal(tl_hub_parse_ref("o/r:Q2_K", &r, &err), TL_OK);
    assert_int_equal(select_paths(&r, files, n, out, sizeof out, &err), -1);
    assert_string_equal(err.message, "o/r has no GGUF file for tag 'Q2_K' (tags there: Q8_0, Q4_K_M, IQ4_XS, F16)");
    assert_int_equal(tl_hub_parse_ref("o/r/nope.gguf", &r, &err), TL_OK);
    assert_int_equal(select_paths(&r, files, n, out, sizeof out, &err), -1);
    assert_non_null(strstr(err.message, "no file 'nope.gguf'"));
    /* A split with a part missing is refused. */
    assert_int_equal(tl_hub_parse_ref("o/r:F16", &r, &err), TL_OK);
    assert_int_equal(select_paths(&r, files, n - 2 + 1, out, sizeof out, &err), -1);
    assert_non_null(strstr(err.message, "part 1 of 2"));
    /* Only a later part of a split (fuzz/regressions/hub/only_a_later_split_part): part 1 is missing. */
    const tl_hub_file later[] = {{"big/m-F16-00002-of-00002.gguf", 1, NULL}, {"README.md", 1, NULL}};
    assert_int_equal(tl_hub_parse_ref("o/r", &r, &err), TL_OK);
    assert_int_equal(select_paths(&r, later, 2, out, sizeof out, &err), -1);
    assert_non_null(strstr(err.message, "part 1 of 2 of big/m-F16 is missing"));
    /* No tag known: the first GGUF. */
    const tl_hub_file plain[] = {{"b.gguf", 1, NULL}, {"a.gguf", 1, NULL}};
    assert_int_equal(tl_hub_parse_ref("o/r", &r, &err), TL_OK);
    assert_int_equal(select_paths(&r, plain, 2, out, sizeof out, &err), 1);
    assert_string_equal(out, "a.gguf");
    assert_int_equal(select_paths(&r, files, 1, out, sizeof out, &err), -1);
    assert_non_null(strstr(err.message, "no GGUF model file"));
}

static void test_catalogue_entries_are_well_formed(void **state) {
    (void)state;
    tl_hub_catalogue_entry e;
    int n = 0;
    for (; tl_hub_catalogue(n, &e); n++) {
        tl_hub_ref r;
        tl_error err;
        assert_int_equal(tl_hub_parse_ref(e.name, &r, &err), TL_OK);
        assert_string_equal(r.repo, e.repo);
        assert_non_null(strchr(e.repo, '/'));
        assert_true(e.quant && e.quant[0] && e.summary && e.summary[0]);
    }
    assert_int_equal(n, 15); /* docs/models.md lists them */
    assert_false(tl_hub_catalogue(-1, &e));
}

/* Each entry's default tag picks the file the repository has (names as the
 * Hub lists them), not another quantization and not a bare ".gguf". */
static void expect_catalogue_pick(const char *name, const char *const *paths, int n, const char *expected) {
    tl_hub_file files[8];
    for (int i = 0; i < n; i++) files[i] = (tl_hub_file){paths[i], 1, NULL};
    tl_hub_ref r;
    tl_error err;
    char out[512];
    assert_int_equal(tl_hub_parse_ref(name, &r, &err), TL_OK);
    if (select_paths(&r, files, n, out, sizeof out, &err) != 1) fail_msg("%s: %s", name, err.message);
    if (strcmp(out, expected) != 0) fail_msg("%s picked %s, expected %s", name, out, expected);
}

static void test_catalogue_defaults_pick_the_repository_files(void **state) {
    (void)state;
    const char *const phi3[] = {"Phi-3-mini-4k-instruct-fp16.gguf", "Phi-3-mini-4k-instruct-q4.gguf", "README.md"};
    expect_catalogue_pick("phi3:mini", phi3, 3, "Phi-3-mini-4k-instruct-q4.gguf");
    const char *const flan[] = {"flan-t5-small.F16.gguf", "flan-t5-small.Q4_K_M.gguf", "flan-t5-small.Q4_K_S.gguf"};
    expect_catalogue_pick("flan-t5-small", flan, 3, "flan-t5-small.Q4_K_M.gguf");
    expect_catalogue_pick("flan-t5-small:latest", flan, 3, "flan-t5-small.Q4_K_M.gguf");
    const char *const smol135[] = {"SmolLM2-135M-Instruct.Q4_K_S.gguf", "SmolLM2-135M-Instruct.Q4_K_M.gguf"};
    expect_catalogue_pick("smollm2:135m", smol135, 2, "SmolLM2-135M-Instruct.Q4_K_M.gguf");
    const char *const smol360[] = {"SmolLM2-360M-Instruct-Q4_K_L.gguf", "SmolLM2-360M-Instruct-Q4_K_M.gguf"};
    expect_catalogue_pick("smollm2:360m", smol360, 2, "SmolLM2-360M-Instruct-Q4_K_M.gguf");
    const char *const qwen3[] = {"Qwen_Qwen3-1.7B-Q4_K_L.gguf", "Qwen_Qwen3-1.7B-Q4_K_M.gguf"};
    expect_catalogue_pick("qwen3:1.7b", qwen3, 2, "Qwen_Qwen3-1.7B-Q4_K_M.gguf");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reference_forms),
        cmocka_unit_test(test_malformed_references_are_refused_in_one_line),
        cmocka_unit_test(test_store_names_and_what_run_may_pull),
        cmocka_unit_test(test_quant_tag_in_file_names),
        cmocka_unit_test(test_files_a_reference_selects),
        cmocka_unit_test(test_catalogue_entries_are_well_formed),
        cmocka_unit_test(test_catalogue_defaults_pick_the_repository_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
