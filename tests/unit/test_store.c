/*
 * test_store.c — the model store (src/store): canonical names, adding,
 * finding, listing, copying, deriving and removing models, a model file kept
 * while any name uses it, leftovers of a crash ignored and cleaned, and
 * split GGUF files joined into one that computes exactly what the unsplit
 * file does.
 */
#include "test_support.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "authoring/gguf_writer.h"
#include "format/gguf.h"
#include "format/gguf_internal.h"
#include "store/store.h"
#include "tinyllm.h"

#define MODEL "models/stories260K.gguf"

static bool exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

/* A fresh, empty store folder for each test. */
static tl_store *fresh_store(const char *name) {
    char cmd[4200];
    const char *dir = tl_test_tmp_path(name);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    tl_store *s = NULL;
    tl_error err = {0};
    if (tl_store_open(dir, &s, &err) != TL_OK) fail_msg("%s", err.message);
    return s;
}

static void add_model(tl_store *s, const char *name) {
    const char *parts[] = {tl_test_shared_path(MODEL)};
    const tl_store_source source = {.ref = "test", .file = "stories260K.gguf"};
    tl_error err = {0};
    if (tl_store_import(s, name, parts, 1, &source, &err) != TL_OK) fail_msg("%s", err.message);
}

static void copy_file(const char *from, const char *to) {
    size_t len = 0;
    char *data = tl_test_read_file(from, &len);
    assert_non_null(data);
    assert_true(tl_test_write_file(to, data, len));
    free(data);
}

static void test_canonical_names(void **state) {
    (void)state;
    static const char *const good[][2] = {
        {"stories", "stories:latest"},
        {"qwen2.5:0.5b", "qwen2.5:0.5b"},
        {"hf.co/ORG/REPO:Q4_K_M", "hf.co/ORG/REPO:Q4_K_M"},
        {"ORG/Repo-Name_1", "ORG/Repo-Name_1:latest"},
    };
    char out[256];
    tl_error err = {0};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        if (tl_store_canonical_name(good[i][0], out, sizeof out, &err) != TL_OK) fail_msg("%s", err.message);
        assert_string_equal(out, good[i][1]);
    }
    static const char *const bad[] = {"",   "..",  "a/../b", "a//b",    "/abs", "a:b:c",
                                      "x:", "a b", "a\nb",   ".hidden", "a/b/", "x:../y"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err = (tl_error){0};
        if (tl_store_canonical_name(bad[i], out, sizeof out, &err) == TL_OK) fail_msg("accepted '%s'", bad[i]);
        assert_int_equal(err.status, TL_ERR_ARGUMENT);
        assert_non_null(strstr(err.message, "invalid model name"));
        assert_null(strchr(err.message, '\n'));
    }
    char long_name[300];
    memset(long_name, 'a', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = 0;
    assert_int_equal(tl_store_canonical_name(long_name, out, sizeof out, &err), TL_ERR_ARGUMENT);
}

static void test_add_find_list(void **state) {
    (void)state;
    if (!tl_test_have_shared(MODEL)) skip();
    tl_store *s = fresh_store("store-add");
    add_model(s, "stories");
    char want[65];
    tl_error err = {0};
    assert_int_equal(tl_sha256_file(tl_test_shared_path(MODEL), want, &err), TL_OK);
    assert_true(exists(tl_test_shared_path(MODEL))); /* import copies */

    tl_store_entry e;
    assert_true(tl_store_find(s, "stories", &e));
    assert_string_equal(e.name, "stories:latest");
    assert_string_equal(e.sha256, want);
    struct stat st;
    assert_int_equal(stat(e.model_path, &st), 0);
    assert_int_equal((int64_t)st.st_size, e.size);
    assert_non_null(strstr(e.model_path, want));
    assert_string_equal(e.source_ref, "test");
    assert_non_null(strstr(e.manifest_json, "\"pulled_at\""));
    char *model_path = strdup(e.model_path);
    tl_store_entry_free(&e);
    assert_true(tl_store_find(s, "stories:latest", &e));
    tl_store_entry_free(&e);
    assert_false(tl_store_find(s, "stories:other", &e));
    assert_false(tl_store_find(s, "bad name", &e));

    /* tl_store_add moves the file, after checking the sha256 it is given. */
    const char *moved = tl_test_tmp_path("store-add-moved.gguf");
    copy_file(tl_test_shared_path(MODEL), moved);
    const char *parts[] = {moved};
    err = (tl_error){0};
    assert_int_equal(tl_store_add(s, "hf.co/ORG/REPO:Q8_0", parts, 1,
                                  "0000000000000000000000000000000000000000000000000000000000000000", NULL, &err),
                     TL_ERR_FORMAT);
    assert_non_null(strstr(err.message, "sha256 mismatch"));
    assert_true(exists(moved));
    if (tl_store_add(s, "hf.co/ORG/REPO:Q8_0", parts, 1, want, NULL, &err) != TL_OK) fail_msg("%s", err.message);
    assert_false(exists(moved));
    assert_true(tl_store_find(s, "hf.co/ORG/REPO:Q8_0", &e));
    assert_string_equal(e.model_path, model_path); /* one blob for both names */
    tl_store_entry_free(&e);

    char **names = NULL;
    int n = 0;
    assert_int_equal(tl_store_list(s, &names, &n, &err), TL_OK);
    assert_int_equal(n, 2);
    assert_string_equal(names[0], "hf.co/ORG/REPO:Q8_0");
    assert_string_equal(names[1], "stories:latest");
    tl_store_names_free(names, n);

    /* Not a GGUF file: refused, nothing added. */
    const char *junk = tl_test_tmp_path("store-junk.gguf");
    assert_true(tl_test_write_file(junk, "not a model", 11));
    const char *junk_parts[] = {junk};
    assert_int_not_equal(tl_store_import(s, "junk", junk_parts, 1, NULL, &err), TL_OK);
    assert_false(tl_store_find(s, "junk", &e));
    free(model_path);
    tl_store_close(s);
}

static void test_copy_remove_keeps_blob(void **state) {
    (void)state;
    if (!tl_test_have_shared(MODEL)) skip();
    tl_store *s = fresh_store("store-rm");
    add_model(s, "stories");
    tl_error err = {0};
    if (tl_store_copy(s, "stories", "copy:v2", &err) != TL_OK) fail_msg("%s", err.message);
    tl_store_entry a, b;
    assert_true(tl_store_find(s, "stories", &a));
    assert_true(tl_store_find(s, "copy:v2", &b));
    assert_string_equal(a.model_path, b.model_path);
    assert_string_equal(b.name, "copy:v2");

    assert_int_equal(tl_store_remove(s, "stories", &err), TL_OK);
    tl_store_entry gone;
    assert_false(tl_store_find(s, "stories", &gone));
    assert_true(exists(b.model_path)); /* copy:v2 still uses it */
    assert_int_equal(tl_store_remove(s, "copy:v2", &err), TL_OK);
    assert_false(exists(b.model_path));

    err = (tl_error){0};
    assert_int_equal(tl_store_remove(s, "stories", &err), TL_ERR_ARGUMENT);
    assert_non_null(strstr(err.message, "not found"));
    assert_int_equal(tl_store_copy(s, "missing", "other", &err), TL_ERR_ARGUMENT);
    assert_int_equal(tl_store_copy(s, "stories", "bad name", &err), TL_ERR_ARGUMENT);
    tl_store_entry_free(&a);
    tl_store_entry_free(&b);
    tl_store_close(s);
}

static void test_create(void **state) {
    (void)state;
    if (!tl_test_have_shared(MODEL)) skip();
    tl_store *s = fresh_store("store-create");
    add_model(s, "stories");
    tl_error err = {0};
    if (tl_store_create(s, "terse", "stories", "Be terse.", "chatml", "{\"temperature\": 0.5}", &err) != TL_OK)
        fail_msg("%s", err.message);
    tl_store_entry e;
    assert_true(tl_store_find(s, "terse:latest", &e));
    assert_non_null(strstr(e.manifest_json, "\"system\":\t\"Be terse.\""));
    assert_non_null(strstr(e.manifest_json, "\"template\":\t\"chatml\""));
    assert_non_null(strstr(e.manifest_json, "\"temperature\":\t0.5"));
    assert_non_null(strstr(e.manifest_json, "\"from\":\t\"stories:latest\""));
    tl_store_entry_free(&e);
    /* NULL keeps the base's; "" clears. */
    assert_int_equal(tl_store_create(s, "terse2", "terse", NULL, "", NULL, &err), TL_OK);
    assert_true(tl_store_find(s, "terse2", &e));
    assert_non_null(strstr(e.manifest_json, "Be terse."));
    assert_null(strstr(e.manifest_json, "\"template\""));
    tl_store_entry_free(&e);
    assert_int_equal(tl_store_create(s, "x", "stories", NULL, NULL, "[1]", &err), TL_ERR_ARGUMENT);
    assert_int_equal(tl_store_create(s, "x", "missing", NULL, NULL, NULL, &err), TL_ERR_ARGUMENT);
    assert_false(tl_store_find(s, "x", &e));
    tl_store_close(s);
}

static void test_leftovers_ignored_and_cleaned(void **state) {
    (void)state;
    if (!tl_test_have_shared(MODEL)) skip();
    tl_store *s = fresh_store("store-crash");
    add_model(s, "stories");
    char dead[4200], mine[4200], stray[4200];
    /* A process that died mid-write (no such pid), one that is alive (us), and a half-written manifest. */
    snprintf(dead, sizeof dead, "%s/tmp/999999999-3.gguf", tl_store_dir(s));
    snprintf(mine, sizeof mine, "%s/tmp/%ld-99.json", tl_store_dir(s), (long)getpid());
    snprintf(stray, sizeof stray, "%s/manifests/half.json.tmp", tl_store_dir(s));
    assert_true(tl_test_write_file(dead, "GGUF", 4));
    assert_true(tl_test_write_file(mine, "{", 1));
    assert_true(tl_test_write_file(stray, "{", 1));
    /* A damaged manifest is listed by its file name but not found, and keeps every blob. */
    char broken[4200];
    snprintf(broken, sizeof broken, "%s/manifests/broken:latest.json", tl_store_dir(s));
    assert_true(tl_test_write_file(broken, "{\"name\": 1", 11));
    char **names = NULL;
    int n = 0;
    tl_error err = {0};
    assert_int_equal(tl_store_list(s, &names, &n, &err), TL_OK);
    assert_int_equal(n, 2);
    assert_string_equal(names[0], "broken:latest");
    tl_store_names_free(names, n);
    tl_store_entry e;
    assert_false(tl_store_find(s, "broken", &e));
    /* A size no file has (fuzz/regressions/store/huge_size) makes a manifest invalid too. */
    char huge[4200];
    snprintf(huge, sizeof huge, "%s/manifests/huge:latest.json", tl_store_dir(s));
    const char *huge_json = "{\"name\": \"huge:latest\", \"model\": \"m\", \"size\": 1e300, \"sha256\": "
                            "\"0000000000000000000000000000000000000000000000000000000000000000\"}";
    assert_true(tl_test_write_file(huge, huge_json, strlen(huge_json)));
    assert_false(tl_store_find(s, "huge", &e));
    unlink(huge);
    assert_true(tl_store_find(s, "stories", &e));
    assert_int_equal(tl_store_copy(s, "stories", "second", &err), TL_OK);
    assert_int_equal(tl_store_remove(s, "second", &err), TL_OK);
    assert_int_equal(tl_store_remove(s, "stories", &err), TL_OK);
    assert_true(exists(e.model_path)); /* the broken manifest might name it */
    tl_store_entry_free(&e);
    unlink(broken);
    add_model(s, "stories");
    char *dir = strdup(tl_store_dir(s));
    tl_store_close(s);
    assert_int_equal(tl_store_open(dir, &s, &err), TL_OK);
    assert_false(exists(dead));
    assert_true(exists(mine)); /* its writer still runs */
    unlink(mine);
    assert_true(tl_store_find(s, "stories", &e));
    tl_store_entry_free(&e);
    char partial[4200], partial2[4200];
    assert_int_equal(tl_store_partial_path(s, "ORG/REPO/file.gguf", partial, sizeof partial, &err), TL_OK);
    assert_int_equal(tl_store_partial_path(s, "ORG/REPO/file.gguf", partial2, sizeof partial2, &err), TL_OK);
    assert_string_equal(partial, partial2);
    assert_int_equal(strncmp(partial, dir, strlen(dir)), 0);
    assert_int_equal(tl_store_partial_path(s, "other", partial2, sizeof partial2, &err), TL_OK);
    assert_string_not_equal(partial, partial2);
    free(dir);
    tl_store_close(s);
}

/* ---- split files, written as llama.cpp's gguf-split writes them ---------- */

static void copy_kv(gguf_writer *w, const gguf_file *f, const gguf_kv *kv) {
    switch (kv->type) {
    case GGUF_TYPE_UINT32: {
        uint32_t v;
        memcpy(&v, kv->data, 4);
        gguf_writer_set_u32(w, kv->key, v);
        break;
    }
    case GGUF_TYPE_INT32: {
        int32_t v;
        memcpy(&v, kv->data, 4);
        gguf_writer_set_i32(w, kv->key, v);
        break;
    }
    case GGUF_TYPE_FLOAT32: {
        float v;
        memcpy(&v, kv->data, 4);
        gguf_writer_set_f32(w, kv->key, v);
        break;
    }
    case GGUF_TYPE_BOOL: gguf_writer_set_bool(w, kv->key, kv->data[0] != 0); break;
    case GGUF_TYPE_STRING: gguf_writer_set_str(w, kv->key, kv->str); break;
    case GGUF_TYPE_ARRAY:
        if (kv->elem_type == GGUF_TYPE_STRING) {
            char **strs = calloc(kv->count, sizeof *strs);
            for (uint64_t i = 0; i < kv->count; i++) {
                uint64_t len = 0;
                const char *p = gguf_get_arr_str(f, kv->key, i, &len);
                strs[i] = strndup(p, len);
            }
            gguf_writer_set_arr_str(w, kv->key, (const char *const *)strs, kv->count);
            for (uint64_t i = 0; i < kv->count; i++) free(strs[i]);
            free(strs);
        } else {
            gguf_writer_set_arr(w, kv->key, kv->elem_type, kv->data, kv->count);
        }
        break;
    default: fail_msg("metadata type %d of %s: not needed by this test", kv->type, kv->key);
    }
}

/* Writes `model` as n_parts split files (first part: every key) into paths. */
static void write_split(const char *model, int n_parts, char paths[][4200]) {
    gguf_file *f = NULL;
    tl_error err = {0};
    if (gguf_open(model, &f, &err) != TL_OK) fail_msg("%s", err.message);
    const int64_t n_tensors = gguf_tensor_count(f);
    for (int p = 0; p < n_parts; p++) {
        gguf_writer *w = gguf_writer_new();
        if (p == 0)
            for (int64_t k = 0; k < f->n_kv; k++) copy_kv(w, f, &f->kvs[k]);
        gguf_writer_set_u32(w, "split.no", (uint32_t)p);
        gguf_writer_set_u32(w, "split.count", (uint32_t)n_parts);
        gguf_writer_set_i32(w, "split.tensors.count", (int32_t)n_tensors);
        for (int64_t t = n_tensors * p / n_parts; t < n_tensors * (p + 1) / n_parts; t++) {
            const gguf_tensor *tensor = gguf_tensor_at(f, t);
            if (gguf_writer_add_tensor(w, tensor->name, tensor->type, tensor->n_dims, tensor->ne, tensor->data, &err) !=
                TL_OK)
                fail_msg("%s", err.message);
        }
        char name[64];
        snprintf(name, sizeof name, "split-%05d-of-%05d.gguf", p + 1, n_parts);
        snprintf(paths[p], 4200, "%s", tl_test_tmp_path(name));
        if (gguf_writer_write(w, paths[p], &err) != TL_OK) fail_msg("%s", err.message);
        gguf_writer_free(w);
    }
    gguf_close(f);
}

/* The logits of every position of a short prompt. */
static float *prompt_logits(const char *path, int32_t *n_vocab) {
    tl_model *model = NULL;
    tl_error err = {0};
    tl_model_params mp = tl_model_default_params();
    if (tl_model_load(path, &mp, &model, &err) != TL_OK) fail_msg("%s", err.message);
    tl_context *ctx = NULL;
    tl_context_params cp = tl_context_default_params();
    cp.n_ctx = 64;
    assert_int_equal(tl_context_new(model, &cp, &ctx, &err), TL_OK);
    tl_token tokens[32];
    const int32_t n = tl_tokenize(model, "Once upon a time", 16, true, false, tokens, 32);
    assert_true(n > 2);
    assert_int_equal(tl_decode(ctx, tokens, n, 0, true, &err), TL_OK);
    *n_vocab = tl_vocab_size(model);
    float *all = malloc((size_t)n * (size_t)*n_vocab * sizeof *all);
    for (int32_t i = 0; i < n; i++) memcpy(all + (size_t)i * *n_vocab, tl_get_logits(ctx, i), *n_vocab * sizeof *all);
    tl_context_free(ctx);
    tl_model_free(model);
    *n_vocab *= n;
    return all;
}

static void test_split_join(void **state) {
    (void)state;
    if (!tl_test_have_shared(MODEL)) skip();
    tl_store *s = fresh_store("store-split");
    char paths[3][4200];
    write_split(tl_test_shared_path(MODEL), 3, paths);
    tl_error err = {0};

    /* One part alone is not a model. */
    const char *one[] = {paths[1]};
    assert_int_equal(tl_store_import(s, "part", one, 1, NULL, &err), TL_ERR_ARGUMENT);
    assert_non_null(strstr(err.message, "part 2 of 3"));
    const char *two[] = {paths[0], paths[1]};
    assert_int_equal(tl_store_import(s, "part", two, 2, NULL, &err), TL_ERR_FORMAT);
    assert_non_null(strstr(err.message, "split.count is 3"));

    /* Given in any order: joined by split.no; tl_store_add removes the parts. */
    const char *parts[] = {paths[2], paths[0], paths[1]};
    if (tl_store_add(s, "joined", parts, 3, NULL, NULL, &err) != TL_OK) fail_msg("%s", err.message);
    for (int i = 0; i < 3; i++) assert_false(exists(paths[i]));
    tl_store_entry e;
    assert_true(tl_store_find(s, "joined", &e));
    char hex[65];
    assert_int_equal(tl_sha256_file(e.model_path, hex, &err), TL_OK);
    assert_string_equal(hex, e.sha256);

    gguf_file *joined = NULL, *whole = NULL;
    assert_int_equal(gguf_open(e.model_path, &joined, &err), TL_OK);
    assert_int_equal(gguf_open(tl_test_shared_path(MODEL), &whole, &err), TL_OK);
    assert_int_equal(gguf_tensor_count(joined), gguf_tensor_count(whole));
    assert_int_equal(gguf_find_key(joined, "split.count"), -1);
    assert_int_equal(gguf_kv_count(joined), gguf_kv_count(whole));
    for (int64_t t = 0; t < gguf_tensor_count(whole); t++) {
        const gguf_tensor *a = gguf_tensor_at(whole, t), *b = gguf_find_tensor(joined, a->name);
        assert_non_null(b);
        assert_int_equal(a->n_bytes, b->n_bytes);
        assert_memory_equal(a->data, b->data, a->n_bytes);
        assert_int_equal(b->offset % gguf_alignment(joined), 0);
    }
    gguf_close(joined);
    gguf_close(whole);

    int32_t n_a = 0, n_b = 0;
    float *a = prompt_logits(tl_test_shared_path(MODEL), &n_a);
    float *b = prompt_logits(e.model_path, &n_b);
    assert_int_equal(n_a, n_b);
    assert_memory_equal(a, b, (size_t)n_a * sizeof *a);
    free(a);
    free(b);
    tl_store_entry_free(&e);
    tl_store_close(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_canonical_names),
        cmocka_unit_test(test_add_find_list),
        cmocka_unit_test(test_copy_remove_keeps_blob),
        cmocka_unit_test(test_create),
        cmocka_unit_test(test_leftovers_ignored_and_cleaned),
        cmocka_unit_test(test_split_join),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
