/*
 * test_safetensors.c — the .safetensors reader (src/authoring/safetensors.c):
 * a well-formed file's tensors (names, dtypes, shapes, values of F32, F16
 * and BF16, __metadata__ skipped), and every bad input refused with one line
 * naming the file and, where there is one, the tensor.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authoring/safetensors.h"
#include "test_support.h"

/* A file: the 8-byte length, the header text, then n_data bytes 0, 1, 2... */
static uint8_t *make_file(const char *header, size_t n_data, size_t *size) {
    const size_t len = strlen(header);
    *size = 8 + len + n_data;
    uint8_t *buf = malloc(*size);
    assert_non_null(buf);
    for (int i = 0; i < 8; i++) buf[i] = (uint8_t)((uint64_t)len >> (8 * i));
    memcpy(buf + 8, header, len);
    for (size_t i = 0; i < n_data; i++) buf[8 + len + i] = (uint8_t)i;
    return buf;
}

/* Parsing must fail with a message containing `want`. */
static void expect_refused(const char *header, size_t n_data, tl_status status, const char *want) {
    size_t size;
    uint8_t *buf = make_file(header, n_data, &size);
    tl_safetensors *st = (tl_safetensors *)1;
    tl_error err = {0};
    const tl_status got = tl_safetensors_parse(buf, size, "x.safetensors", &st, &err);
    if (got == TL_OK) fail_msg("accepted: %s", header);
    assert_null(st);
    if (got != status || !strstr(err.message, want) || strncmp(err.message, "x.safetensors: ", 15) != 0 ||
        strchr(err.message, '\n'))
        fail_msg("%s: status %d, message '%s', expected '%s'", header, got, err.message, want);
    free(buf);
}

static void reads_tensors_of_every_dtype(void **state) {
    (void)state;
    /* a: F32 [2] = 1.0, -2.0; b: F16 [1] = 1.5; c: BF16 [] = 3.0 */
    const char *header = "{\"__metadata__\":{\"format\":\"pt\"},"
                         "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                         "\"b\":{\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[8,10]},"
                         "\"c\":{\"dtype\":\"BF16\",\"shape\":[],\"data_offsets\":[10,12]}}";
    size_t size;
    uint8_t *buf = make_file(header, 12, &size);
    uint8_t *data = buf + size - 12;
    const float a[2] = {1.0f, -2.0f};
    memcpy(data, a, 8);               /* little-endian hosts only, as the project */
    data[8] = 0x00, data[9] = 0x3e;   /* 1.5 in f16 */
    data[10] = 0x40, data[11] = 0x40; /* 3.0 in bf16 */
    tl_safetensors *st = NULL;
    tl_error err = {0};
    if (tl_safetensors_parse(buf, size, "ok.safetensors", &st, &err) != TL_OK) fail_msg("%s", err.message);
    assert_int_equal(st->n_tensors, 3);
    const tl_st_tensor *t = tl_safetensors_find(st, "a");
    assert_non_null(t);
    assert_int_equal(t->dtype, TL_ST_F32);
    assert_int_equal(t->n_dims, 1);
    assert_int_equal(t->shape[0], 2);
    float out[2];
    tl_st_to_float(t, out);
    assert_true(out[0] == 1.0f && out[1] == -2.0f);
    t = tl_safetensors_find(st, "b");
    assert_int_equal(t->dtype, TL_ST_F16);
    tl_st_to_float(t, out);
    assert_true(out[0] == 1.5f);
    t = tl_safetensors_find(st, "c");
    assert_int_equal(t->dtype, TL_ST_BF16);
    assert_int_equal(t->n_dims, 0);
    assert_int_equal(t->n_elements, 1);
    tl_st_to_float(t, out);
    assert_true(out[0] == 3.0f);
    assert_null(tl_safetensors_find(st, "__metadata__"));
    assert_string_equal(tl_st_dtype_name(TL_ST_BF16), "BF16");
    tl_safetensors_close(st);
    free(buf);
}

static void refuses_bad_headers(void **state) {
    (void)state;
    tl_safetensors *st = NULL;
    tl_error err = {0};
    assert_int_equal(tl_safetensors_parse("1234", 4, "x.safetensors", &st, &err), TL_ERR_FORMAT);
    assert_non_null(strstr(err.message, "too short"));
    uint8_t huge[16] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f};
    assert_int_equal(tl_safetensors_parse(huge, sizeof huge, "x.safetensors", &st, &err), TL_ERR_FORMAT);
    assert_non_null(strstr(err.message, "at most"));
    uint8_t beyond[16] = {100};
    assert_int_equal(tl_safetensors_parse(beyond, sizeof beyond, "x.safetensors", &st, &err), TL_ERR_FORMAT);
    assert_non_null(strstr(err.message, "the file has 8 after its length"));
    expect_refused("[1,2]", 0, TL_ERR_FORMAT, "not a JSON object");
    expect_refused("{\"a\":", 0, TL_ERR_FORMAT, "not valid JSON");
    expect_refused("{\"__metadata__\":[]}", 0, TL_ERR_FORMAT, "__metadata__ is not an object");
    expect_refused("{\"__metadata__\":{\"k\":1}}", 0, TL_ERR_FORMAT, "__metadata__ 'k' is not a string");
    expect_refused("{\"\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, TL_ERR_FORMAT, "empty name");
}

static void refuses_bad_tensors(void **state) {
    (void)state;
    expect_refused("{\"w\":1}", 0, TL_ERR_FORMAT, "tensor 'w': header entry is not an object");
    expect_refused("{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, TL_ERR_FORMAT, "tensor 'w': no \"dtype\"");
    expect_refused("{\"w\":{\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, TL_ERR_UNSUPPORTED,
                   "tensor 'w': dtype I32 is not supported (F32, F16 and BF16 are)");
    expect_refused("{\"w\":{\"dtype\":\"Q9\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, TL_ERR_FORMAT,
                   "tensor 'w': unknown dtype 'Q9'");
    expect_refused("{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4, TL_ERR_FORMAT,
                   "tensor 'w': dimension 0 is not a non-negative integer");
    expect_refused("{\"w\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", 4, TL_ERR_FORMAT,
                   "dimension 0");
    expect_refused("{\"w\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 4, TL_ERR_FORMAT,
                   "9 dimensions");
    expect_refused("{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,4]}}", 4,
                   TL_ERR_FORMAT, "element count overflows");
    expect_refused("{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, TL_ERR_FORMAT, "\"data_offsets\" is not");
    expect_refused("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,8]}}", 4, TL_ERR_FORMAT,
                   "tensor 'w': data_offsets [0, 8] outside the 4 bytes of data");
    expect_refused("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}", 4, TL_ERR_FORMAT, "outside");
    expect_refused("{\"w\":{\"dtype\":\"F16\",\"shape\":[3],\"data_offsets\":[0,4]}}", 4, TL_ERR_FORMAT,
                   "tensor 'w': 4 bytes of data, its shape and dtype need 6");
}

static void refuses_bad_layouts(void **state) {
    (void)state;
    expect_refused("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                   "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
                   8, TL_ERR_FORMAT, "tensor 'b': its data overlaps another tensor's");
    expect_refused("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, TL_ERR_FORMAT,
                   "tensor 'a': a hole of 4 bytes before its data");
    expect_refused("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 8, TL_ERR_FORMAT,
                   "4 bytes after the last tensor's data");
    expect_refused("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                   "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
                   8, TL_ERR_FORMAT, "tensor 'a' appears twice");
    expect_refused("{}", 4, TL_ERR_FORMAT, "no tensors");
}

static void open_names_the_file(void **state) {
    (void)state;
    tl_safetensors *st = NULL;
    tl_error err = {0};
    const char *missing = tl_test_tmp_path("missing.safetensors");
    assert_int_equal(tl_safetensors_open(missing, &st, &err), TL_ERR_IO);
    assert_non_null(strstr(err.message, missing));
    size_t size;
    uint8_t *buf = make_file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1],\"data_offsets\":[0,4]}}", 4, &size);
    const char *path = tl_test_tmp_path("one.safetensors");
    assert_true(tl_test_write_file(path, buf, size));
    if (tl_safetensors_open(path, &st, &err) != TL_OK) fail_msg("%s", err.message);
    assert_int_equal(st->n_tensors, 1);
    assert_int_equal(st->tensors[0].n_dims, 2);
    tl_safetensors_close(st);
    assert_true(tl_test_write_file(path, buf, size - 1)); /* truncated */
    assert_int_equal(tl_safetensors_open(path, &st, &err), TL_ERR_FORMAT);
    assert_non_null(strstr(err.message, "one.safetensors: tensor 'a': data_offsets"));
    remove(path);
    free(buf);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reads_tensors_of_every_dtype), cmocka_unit_test(refuses_bad_headers),
        cmocka_unit_test(refuses_bad_tensors),          cmocka_unit_test(refuses_bad_layouts),
        cmocka_unit_test(open_names_the_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
