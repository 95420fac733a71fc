/*
 * test_synth.c — `synth` and the architecture table (src/authoring/synth*.c,
 * src/model/arch.c): every preset names a row and every row has a preset;
 * the architectures synth lists are the table's; what a row fixes (q/k/v
 * biases, q/k norms, the feed-forward norm) is in the file whatever the
 * preset says, and a preset only chooses where the row leaves a choice.
 * Models are written with the project's own vocabulary (@unigram), so no
 * shared data is needed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authoring/authoring.h"
#include "authoring/synth.h"
#include "format/gguf.h"
#include "model/arch.h"
#include "test_support.h"

static void test_every_preset_names_a_row_of_the_table(void **state) {
    (void)state;
    int n = 0;
    for (int i = 0; tl_synth_preset_name(i, NULL); i++, n++) {
        const char *arch = tl_synth_preset_arch(i);
        assert_non_null(arch);
        if (!tl_arch_find(arch))
            fail_msg("preset %s: architecture '%s' is not in the table", tl_synth_preset_name(i, NULL), arch);
    }
    assert_int_equal(n, tl_synth_preset_count());
    assert_null(tl_synth_preset_name(n, NULL));
    assert_null(tl_synth_preset_arch(n));
    assert_null(tl_synth_preset_arch(-1));
}

/* synth lists the table's rows, and each has a preset to write. */
static void test_every_row_of_the_table_has_a_preset(void **state) {
    (void)state;
    const char *list = tl_synth_architectures();
    assert_string_equal(list, tl_arch_supported_list());
    char *names = strdup(list);
    int rows = 0;
    for (char *save = NULL, *name = strtok_r(names, ", ", &save); name; name = strtok_r(NULL, ", ", &save)) {
        rows++;
        assert_non_null(tl_arch_find(name));
        bool found = false;
        for (int i = 0; !found && tl_synth_preset_arch(i); i++) found = strcmp(tl_synth_preset_arch(i), name) == 0;
        if (!found) fail_msg("no synth preset for architecture '%s'", name);
    }
    free(names);
    assert_true(rows >= 11); /* llama ... t5 */
}

/* A preset's choices never contradict its row: a flag the row excludes
 * would be silently ignored, so it must not be set. */
static void test_presets_agree_with_their_rows(void **state) {
    (void)state;
    for (int i = 0; i < tl_synth_preset_count(); i++) {
        const tl_synth_preset *p = tl_synth_preset_at(i);
        const tl_arch *a = tl_arch_find(p->arch);
        if (a->kind != TL_KIND_DECODER) continue;
        if (p->qkv_bias && a->qkv_bias == TL_ABSENT) fail_msg("%s: q/k/v biases on %s", p->name, a->name);
        if (p->qk_norm && a->qk_norm == TL_ABSENT) fail_msg("%s: q/k norms on %s", p->name, a->name);
        if (p->parallel_residual && a->ffn_norm == TL_REQUIRED) fail_msg("%s: no ffn_norm on %s", p->name, a->name);
        if (p->tied_output && !a->tied_output_allowed) fail_msg("%s: tied output on %s", p->name, a->name);
    }
}

static gguf_file *write_tiny(const char *preset) {
    char name[64];
    snprintf(name, sizeof name, "synth-%s.gguf", preset);
    const char *path = tl_test_tmp_path(name);
    tl_error err = {0};
    const tl_synth_params params = {
        .preset = preset, .weight_type = "f32", .seed = 1, .vocab_path = "@unigram", .tiny = true};
    if (tl_synth(&params, path, &err) != TL_OK) fail_msg("synth %s: %s", preset, err.message);
    gguf_file *f = NULL;
    if (gguf_open(path, &f, &err) != TL_OK) fail_msg("%s: %s", path, err.message);
    remove(path);
    return f;
}

static bool has_tensor(const gguf_file *f, const char *name) {
    return gguf_find_tensor(f, name) != NULL;
}

static void test_the_row_decides_what_it_fixes(void **state) {
    (void)state;
    /* qwen2 requires q/k/v biases; the preset does not say so. */
    gguf_file *f = write_tiny("qwen2-test");
    assert_true(has_tensor(f, "blk.0.attn_q.bias") && has_tensor(f, "blk.1.attn_v.bias"));
    assert_false(has_tensor(f, "blk.0.attn_q_norm.weight"));
    assert_true(has_tensor(f, "blk.0.ffn_norm.weight"));
    gguf_close(f);
    /* qwen3 and gemma3 require q/k norms. */
    f = write_tiny("qwen3-0.6b");
    assert_true(has_tensor(f, "blk.0.attn_q_norm.weight") && has_tensor(f, "blk.1.attn_k_norm.weight"));
    assert_false(has_tensor(f, "blk.0.attn_q.bias"));
    gguf_close(f);
    f = write_tiny("gemma3-270m");
    assert_true(has_tensor(f, "blk.0.attn_q_norm.weight") && has_tensor(f, "blk.0.post_ffw_norm.weight"));
    gguf_close(f);
}

static void test_the_preset_chooses_where_the_row_leaves_a_choice(void **state) {
    (void)state;
    /* stablelm leaves biases, q/k norms and ffn_norm optional. */
    gguf_file *f = write_tiny("stablelm2-1.6b");
    assert_true(has_tensor(f, "blk.0.attn_q.bias"));
    assert_false(has_tensor(f, "blk.0.attn_q_norm.weight"));
    assert_true(has_tensor(f, "blk.0.ffn_norm.weight"));
    gguf_close(f);
    f = write_tiny("stablelm2-12b");
    assert_false(has_tensor(f, "blk.0.attn_q.bias"));
    assert_true(has_tensor(f, "blk.0.attn_q_norm.weight"));
    assert_false(has_tensor(f, "blk.0.ffn_norm.weight")); /* parallel residual */
    gguf_close(f);
    /* llama: optional biases the preset leaves out. */
    f = write_tiny("llama3-test");
    assert_false(has_tensor(f, "blk.0.attn_q.bias"));
    assert_true(has_tensor(f, "output.weight")); /* not tied */
    gguf_close(f);
}

static void test_unknown_preset_is_refused(void **state) {
    (void)state;
    tl_error err = {0};
    const tl_synth_params params = {.preset = "no-such-model", .weight_type = "f16", .vocab_path = "@unigram"};
    assert_int_equal(tl_synth(&params, tl_test_tmp_path("never.gguf"), &err), TL_ERR_ARGUMENT);
    assert_non_null(strstr(err.message, "unknown preset 'no-such-model'"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_preset_names_a_row_of_the_table),
        cmocka_unit_test(test_every_row_of_the_table_has_a_preset),
        cmocka_unit_test(test_presets_agree_with_their_rows),
        cmocka_unit_test(test_the_row_decides_what_it_fixes),
        cmocka_unit_test(test_the_preset_chooses_where_the_row_leaves_a_choice),
        cmocka_unit_test(test_unknown_preset_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
