/*
 * test_registry.c — the server's model registry (src/server/registry.c):
 * scanning a models directory and -m files with their NAME.json defaults,
 * finding names with Ollama tags, loading once under concurrent requests,
 * keep_alive unloading (now, after a delay, by the reaper), the
 * --max-loaded / --max-memory limits with least-recently-used eviction,
 * many threads acquiring and releasing at once, and reloads for another
 * context size (Ollama's num_ctx).
 *
 * The models are symbolic links, in a scratch directory under /tmp, to the
 * shared stories260K.gguf (the tests skip without it).
 */
#include <dirent.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "authoring/authoring.h"
#include "server/registry.h"
#include "test_support.h"

#define STORIES "models/stories260K.gguf"

/* ---- scratch directories ------------------------------------------------ */

static char *make_dir(void) {
    char *dir = strdup("/tmp/tl-registry-XXXXXX");
    assert_non_null(mkdtemp(dir));
    return dir;
}

static const char *in_dir(const char *dir, const char *name) {
    static char paths[4][4096];
    static int next;
    char *path = paths[next++ & 3];
    snprintf(path, sizeof paths[0], "%s/%s", dir, name);
    return path;
}

/* DIR/NAME.gguf, a link to the shared stories260K. */
static void link_model(const char *dir, const char *name) {
    char file[256];
    snprintf(file, sizeof file, "%s.gguf", name);
    assert_int_equal(symlink(tl_test_shared_path(STORIES), in_dir(dir, file)), 0);
}

/* A new directory holding the models named in `names` (comma-separated). */
static char *dir_with(const char *names) {
    char *dir = make_dir(), list[256], *save = NULL;
    snprintf(list, sizeof list, "%s", names);
    for (char *name = strtok_r(list, ",", &save); name; name = strtok_r(NULL, ",", &save)) link_model(dir, name);
    return dir;
}

static void write_text(const char *dir, const char *name, const char *text) {
    assert_true(tl_test_write_file(in_dir(dir, name), text, strlen(text)));
}

static void remove_dir(char *dir) {
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *de;
        while ((de = readdir(d))) {
            if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) unlink(in_dir(dir, de->d_name));
        }
        closedir(d);
    }
    rmdir(dir);
    free(dir);
}

static uint64_t stories_size(void) {
    struct stat st;
    assert_int_equal(stat(tl_test_shared_path(STORIES), &st), 0);
    return (uint64_t)st.st_size;
}

static tl_server_options options_for(const char *models_dir) {
    return (tl_server_options){
        .models_dir = models_dir, .keep_alive_s = 300, .parallel = 2, .n_ctx = 64, .n_threads = 1, .queue_limit = 4};
}

static registry *open_ok(const tl_server_options *options) {
    tl_error err = {0};
    registry *r = registry_new(options, &err);
    if (!r) fail_msg("registry_new: %s", err.message);
    return r;
}

static void expect_open_error(const tl_server_options *options, const char *part1, const char *part2) {
    tl_error err = {0};
    registry *r = registry_new(options, &err);
    assert_null(r);
    if (!strstr(err.message, part1) || (part2 && !strstr(err.message, part2)))
        fail_msg("unexpected message: %s", err.message);
}

static loaded_model *acquire_ok(registry *r, const char *name) {
    loaded_model *m = NULL;
    tl_error err = {0};
    const registry_status status = registry_acquire(r, name, &m, &err);
    if (status != REGISTRY_OK) fail_msg("acquire %s: %d %s", name, status, err.message);
    assert_non_null(m);
    return m;
}

/* One request's use of a model: acquire, then release with the default keep_alive. */
static void use(registry *r, const char *name) {
    registry_release(r, acquire_ok(r, name), NAN);
}

/* The names of the loaded models, most recently used first, comma-separated. */
static const char *loaded_names(registry *r) {
    static char names[256];
    loaded_info info[8];
    const int n = registry_loaded(r, info, 8);
    names[0] = 0;
    for (int i = 0; i < n; i++) {
        if (i) strcat(names, ",");
        strcat(names, info[i].entry->name);
    }
    return names;
}

/* ---- scanning ----------------------------------------------------------- */

static void scan_lists_directory_and_files(void **state) {
    (void)state;
    if (!tl_test_have_shared(STORIES)) skip();
    char *dir = make_dir(), *other = make_dir();
    link_model(dir, "beta");
    link_model(dir, "alpha");
    write_text(dir, "alpha.json", "{\"system\": \"Be brief.\", \"options\": {\"temperature\": 0.5}}");
    write_text(dir, "notes.txt", "not a model");
    link_model(other, "gamma");
    const char *paths[] = {in_dir(other, "gamma.gguf")};
    tl_server_options options = options_for(dir);
    options.model_paths = paths;
    options.n_model_paths = 1;

    registry *r = open_ok(&options);
    assert_int_equal(registry_count(r), 3);
    const char *expected[] = {"alpha", "beta", "gamma"};
    for (int i = 0; i < 3; i++) {
        const model_entry *e = registry_entry(r, i);
        assert_string_equal(e->name, expected[i]);
        assert_int_equal(e->file_size, stories_size());
        assert_true(e->modified > 1e9);
        assert_int_equal(strlen(e->digest), 64);
        assert_int_equal(strspn(e->digest, "0123456789abcdef"), 64);
    }
    assert_null(registry_entry(r, 3));
    assert_string_not_equal(registry_entry(r, 0)->digest, registry_entry(r, 1)->digest);
    const cJSON *system = cJSON_GetObjectItem(registry_entry(r, 0)->defaults, "system");
    assert_string_equal(cJSON_GetStringValue(system), "Be brief.");
    assert_null(registry_entry(r, 1)->defaults);
    assert_null(registry_entry(r, 2)->defaults);
    assert_string_equal(loaded_names(r), "");
    registry_free(r);

    /* The same file gives the same digest. */
    r = open_ok(&options);
    registry *again = open_ok(&options);
    assert_string_equal(registry_entry(r, 0)->digest, registry_entry(again, 0)->digest);
    registry_free(again);
    registry_free(r);
    remove_dir(dir);
    remove_dir(other);
}

static void scan_fails_on_duplicate_names(void **state) {
    (void)state;
    if (!tl_test_have_shared(STORIES)) skip();
    char *dir = make_dir(), *other = make_dir();
    link_model(dir, "alpha");
    link_model(other, "alpha");
    const char *paths[] = {in_dir(other, "alpha.gguf")};
    tl_server_options options = options_for(dir);
    options.model_paths = paths;
    options.n_model_paths = 1;
    expect_open_error(&options, "two models are named 'alpha'", other);
    remove_dir(dir);
    remove_dir(other);
}

static void scan_fails_on_missing_paths(void **state) {
    (void)state;
    tl_server_options options = options_for("/tmp/tl-registry-no-such-dir");
    expect_open_error(&options, "/tmp/tl-registry-no-such-dir: No such file or directory", NULL);

    const char *paths[] = {"/tmp/tl-registry-no-such-model.gguf"};
    options = options_for(NULL);
    options.model_paths = paths;
    options.n_model_paths = 1;
    expect_open_error(&options, "/tmp/tl-registry-no-such-model.gguf: No such file or directory", NULL);

    /* No models at all is fine: the server just has nothing to offer. */
    char *empty = make_dir();
    options = options_for(empty);
    registry *r = open_ok(&options);
    assert_int_equal(registry_count(r), 0);
    assert_null(registry_find(r, "alpha"));
    registry_free(r);
    remove_dir(empty);
}

static void scan_fails_on_bad_defaults(void **state) {
    (void)state;
    if (!tl_test_have_shared(STORIES)) skip();
    const char *bad[][2] = {
        {"{\"system\": ", "invalid JSON"},
        {"[1, 2]", "must be a JSON object"},
        {"{\"system\": 3}", "\"system\" must be a string"},
        {"{\"options\": []}", "\"options\" must be an object"},
        {"{\"template\": \"no-such-template.jinja\"}", "no-such-template.jinja"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *dir = make_dir();
        link_model(dir, "alpha");
        link_model(dir, "beta");
        write_text(dir, "beta.json", bad[i][0]);
        tl_server_options options = options_for(dir);
        expect_open_error(&options, "beta.json", bad[i][1]);
        remove_dir(dir);
    }
}

static void find_accepts_tags_and_file_names(void **state) {
    (void)state;
    if (!tl_test_have_shared(STORIES)) skip();
    char *dir = make_dir();
    link_model(dir, "alpha");
    link_model(dir, "beta:v2"); /* a name with a colon is matched exactly */
    tl_server_options options = options_for(dir);
    registry *r = open_ok(&options);
    const model_entry *alpha = registry_entry(r, 0);
    assert_string_equal(alpha->name, "alpha");
    assert_ptr_equal(registry_find(r, "alpha"), alpha);
    assert_ptr_equal(registry_find(r, "alpha:latest"), alpha);
    assert_ptr_equal(registry_find(r, "alpha.gguf"), alpha);
    assert_ptr_equal(registry_find(r, "alpha.gguf:latest"), alpha);
    assert_string_equal(registry_find(r, "beta:v2")->name, "beta:v2");
    assert_null(registry_find(r, "alpha:v2"));
    assert_null(registry_find(r, "alph"));
    assert_null(registry_find(r, ":latest"));
    assert_null(registry_find(r, ""));
    assert_null(registry_find(r, NULL));

    loaded_model *m = NULL;
    tl_error err = {0};
    assert_int_equal(registry_acquire(r, "nope", &m, &err), REGISTRY_UNKNOWN);
    assert_null(m);
    assert_non_null(strstr(err.message, "'nope'"));
    assert_false(registry_set_keep_alive(r, "nope", 0));
    registry_free(r);
    remove_dir(dir);
}

/* ---- loading ------------------------------------------------------------ */

static void acquire_loads_a_generator(void **state) {
    (void)state;
    if (!tl_test_have_shared(STORIES)) skip();
    char *dir = dir_with("alpha");
    tl_server_options options = options_for(dir);
    registry *r = open_ok(&options);
    loaded_model *m = acquire_ok(r, "alpha:latest");
    assert_ptr_equal(m->entry, registry_entry(r, 0));
    assert_non_null(m->model);
    assert_non_null(m->engine);
    assert_non_null(m->embed_lock);
    assert_null(m->embed_ctx);
    /* stories260K has no template: chatml and its end-of-turn text. */
    assert_string_equal(m->template_source, tl_chat_template_builtin("chatml"));
    assert_string_equal(m->end_marker, "<|im_end|>");
    assert_int_equal(m->memory, registry_entry(r, 0)->file_size + engine_memory(m->engine));
    assert_true(m->load_ms >= 0);

    loaded_info info[4];
    assert_int_equal(registry_loaded(r, info, 4), 1);
    assert_ptr_equal(info[0].entry, m->entry);
    assert_int_equal(info[0].holders, 1);
    assert_int_equal(info[0].memory, m->memory);
    assert_int_equal(registry_loaded(r, info, 0), 0);

    /* A second request gets the same loaded model. */
    loaded_model *again = acquire_ok(r, "alpha");
    assert_ptr_equal(again, m);
    assert_int_equal(registry_loaded(r, info, 4), 1);
    assert_int_equal(info[0].holders, 2);
    registry_release(r, again, NAN);
    registry_release(r, m, NAN);

    /* Idle with the default keep_alive: still loaded, expiring in ~300 s. */
    assert_int_equal(registry_loaded(r, info, 4), 1);
    assert_int_equal(info[0].holders, 0);
    const double now = (double)time(NULL);
    assert_true(info[0].expires_at > now + 290 && info[0].expires_at < now + 310);
    registry_free(r); /* unloads it */
    remove_dir(dir);
}

static void defaults_choose_the_template(void **state) {
    (void)state;
    if (!tl_test_have_shared(STORIES)) skip();
    char *dir = make_dir();
    link_model(dir, "builtin");
    link_model(dir, "inline");
    link_model(dir, "file");
    write_text(dir, "builtin.json", "{\"template\": \"llama3\"}");
    write_text(dir, "inline.json", "{\"template\": \"{% for m in messages %}<<{{ m.content }}>>END{% endfor %}\"}");
    write_text(dir, "file.json", "{\"template\": \"my.jinja\"}");
    write_text(dir, "my.jinja", "{% for m in messages %}[{{ m.content }}]STOP\n{% endfor %}");
    tl_server_options options = options_for(dir);
    registry *r = open_ok(&options);

    loaded_model *m = acquire_ok(r, "builtin");
    assert_string_equal(m->template_source, tl_chat_template_builtin("llama3"));
    assert_string_equal(m->end_marker, "<|eot_id|>");
    registry_release(r, m, NAN);

    m = acquire_ok(r, "inline");
    assert_string_equal(m->template_source, "{% for m in messages %}<<{{ m.content }}>>END{% endfor %}");
    registry_release(r, m, NAN);

    m = acquire_ok(r, "file");
    assert_string_equal(m->template_source, "{% for m in messages %}[{{ m.content }}]STOP\n{% endfor %}");
    registry_release(r, m, NAN);
    registry_free(r);
    remove_dir(dir);
}

/* Seconds until no model is loaded (polling), or -1 after 30 s (a generous deadline: slow under
 * ThreadSanitizer, valgrind or qemu). */
static double seconds_until_unloaded(registry *r) {
    const double start = tl_time_ms();
    while (tl_time_ms() - start < 30000 * tl_test_time_scale()) {
        if (strcmp(loaded_names(r), "") == 0) return (tl_time_ms() - start) / 1e3;
        usleep(10000);
    }
    return -1;
}

static void encoder_models_get_no_engine(void **state) {
    (void)state;
    const char *vocab_rel = "tokenizers/llama.cpp-vocab/ggml-vocab-bert-bge.gguf";
    if (!tl_test_have_shared(vocab_rel)) skip();
    char *dir = make_dir();
    const tl_synth_params params = {.preset = "all-minilm-l6-v2",
                                    .weight_type = "q8_0",
                                    .seed = 7,
                                    .vocab_path = tl_test_shared_path(vocab_rel),
                                    .tiny = true};
    tl_error err = {0};
    if (tl_synth(&params, in_dir(dir, "minilm.gguf"), &err) != TL_OK) fail_msg("synth: %s", err.message);
    tl_server_options options = options_for(dir);
    registry *r = open_ok(&options);
    loaded_model *m = acquire_ok(r, "minilm");
    assert_null(m->engine);
    assert_non_null(m->embed_lock);
    assert_int_equal(m->memory, m->entry->file_size);
    /* The API makes the embedding context lazily; the registry frees it. */
    tl_context_params cp = tl_context_default_params();
    assert_int_equal(tl_context_new(m->model, &cp, &m->embed_ctx, &err), TL_OK);
    registry_release(r, m, 0); /* unloaded by the reaper thread, at once */
    assert_true(seconds_until_unloaded(r) >= 0);
    registry_free(r);
    remove_dir(dir);
}

static void failed_load_is_reported_and_retried(void **state) {
    (void)state;
    char *dir = make_dir();
    write_text(dir, "broken.gguf", "this is not a GGUF file at all");
    tl_server_options options = options_for(dir);
    registry *r = open_ok(&options);
    for (int attempt = 0; attempt < 2; attempt++) {
        loaded_model *m = NULL;
        tl_error err = {0};
        assert_int_equal(registry_acquire(r, "broken", &m, &err), REGISTRY_LOAD_FAILED);
        assert_null(m);
        assert_non_null(strstr(err.message, "broken"));
        assert_string_equal(loaded_names(r), "");
    }
    registry_free(r);
    remove_dir(dir);
}

typedef struct racer {
    registry *r;
    pthread_barrier_t *held;
    loaded_model *got;
} racer;

/* Acquires, waits until everyone holds the model, then waits to release. */
static void *race_to_acquire(void *arg) {
    racer *t = arg;
    loaded_model *m = NULL;
    tl_error err = {0};
    if (registry_acquire(t->r, "alpha", &m, &err) != REGISTRY_OK) m = NULL;
    t->got = m;
    pthread_barrier_wait(t->held);
    pthread_barrier_wait(t->held);
    if (m) registry_release(t->r, m, NAN);
    return NULL;
}

static void concurrent_acquires_load_once(void **state) {
    (void)state;
    if (!tl_test_have_shared(STORIES)) skip();
    char *dir = dir_with("alpha");
    tl_server_options options = options_for(dir);
    registry *r = open_ok(&options);
    enum { N = 4 };
    pthread_barrier_t held;
    pthread_barrier_init(&held, NULL, N + 1);
    racer racers[N];
    pthread_t threads[N];
    for (int i = 0; i < N; i++) {
        racers[i] = (racer){.r = r, .held = &held};
        assert_int_equal(pthread_create(&threads[i], NULL, race_to_acquire, &racers[i]), 0);
    }
    pthread_barrier_wait(&held);
    /* Everyone holds the model at once: one load shared by all. */
    loaded_info info[2];
    assert_int_equal(registry_loaded(r, info, 2), 1);
    assert_int_equal(info[0].holders, N);
    for (int i = 0; i < N; i++) {
        assert_non_null(racers[i].got);
        assert_ptr_equal(racers[i].got, racers[0].got);
    }
    const tl_model *model = racers[0].got->model;
    pthread_barrier_wait(&held);
    for (int i = 0; i < N; i++) pthread_join(threads[i], NULL);
    pthread_barrier_destroy(&held);
    assert_int_equal(registry_loaded(r, info, 2), 1);
    assert_int_equal(info[0].holders, 0);
    loaded_model *m = acquire_ok(r, "alpha");
    assert_ptr_equal(m->model, model); /* still the same load */
    registry_release(r, m, NAN);
    registry_free(r);
    remove_dir(dir);
}

/* ---- keep_alive --------------------------------------------------------- */

static void keep_alive_zero_unloads_on_release(void **state) {
    (void)state;
    if (!tl_test_have_shared(STORIES)) skip();
    char *dir = dir_with("alpha");
    tl_server_options options = options_for(dir);
    registry *r = open_ok(&options);
    loaded_model *a = acquire_ok(r, "alpha");
    loaded_model *b = acquire_ok(r, "alpha");
    registry_release(r, a, 0); /* still held by b */
    assert_string_equal(loaded_names(r), "alpha");
    registry_release(r, b, 0);
    assert_true(seconds_until_unloaded(r) >= 0);

    /* The server default can be 0 too. */
    registry_free(r);
    options.keep_alive_s = 0;
    r = open_ok(&options);
    use(r, "alpha");
    assert_true(seconds_until_unloaded(r) >= 0);

    /* A negative keep_alive keeps it for ever. */
    registry_release(r, acquire_ok(r, "alpha"), -1);
    loaded_info info[1];
    assert_int_equal(registry_loaded(r, info, 1), 1);
    assert_true(info[0].expires_at == 0);
    registry_free(r);
    remove_dir(dir);
}

static void keep_alive_expires_in_the_background(void **state) {
    (void)state;
    if (!tl_test_have_shared(STORIES)) skip();
    char *dir = dir_with("alpha");
    tl_server_options options = options_for(dir);
    registry *r = open_ok(&options);
    const double released_at = tl_time_ms();
    registry_release(r, acquire_ok(r, "alpha"), 0.3);
    loaded_info info[1];
    assert_int_equal(registry_loaded(r, info, 1), 1);
    const double now = (double)time(NULL);
    assert_true(info[0].expires_at > now - 1 && info[0].expires_at < now + 2);
    const double waited = seconds_until_unloaded(r);
    assert_true(waited >= 0);
    const double since_release = (tl_time_ms() - released_at) / 1e3;
    if (since_release < 0.29) fail_msg("unloaded after %.3f s, keep_alive was 0.3 s", since_release);

    /* The expiry counts from the last release, not from the load. */
    loaded_model *m = acquire_ok(r, "alpha");
    usleep(500000);
    assert_string_equal(loaded_names(r), "alpha"); /* held: never expires */
    const double second_release = tl_time_ms();
    registry_release(r, m, 0.3);
    assert_true(seconds_until_unloaded(r) >= 0);
    assert_true(tl_time_ms() - second_release >= 290);
    registry_free(r);
    remove_dir(dir);
}

static void set_keep_alive_changes_loaded_models_only(void **state) {
    (void)state;
    if (!tl_test_have_shared(STORIES)) skip();
    char *dir = dir_with("alpha");
    tl_server_options options = options_for(dir);
    registry *r = open_ok(&options);
    assert_false(registry_set_keep_alive(r, "alpha", 0)); /* not loaded: nothing happens */
    assert_false(registry_set_keep_alive(r, "alpha", 60));
    assert_string_equal(loaded_names(r), "");

    /* Idle: 0 unloads at once. */
    use(r, "alpha");
    assert_true(registry_set_keep_alive(r, "alpha:latest", 0));
    assert_string_equal(loaded_names(r), "");

    /* Idle: a new duration replaces the old one. */
    use(r, "alpha");
    assert_true(registry_set_keep_alive(r, "alpha", -1));
    loaded_info info[1];
    assert_int_equal(registry_loaded(r, info, 1), 1);
    assert_true(info[0].expires_at == 0);
    assert_true(registry_set_keep_alive(r, "alpha", 0.2));
    assert_true(seconds_until_unloaded(r) >= 0);

    /* Held: 0 unloads when the last holder lets go, whatever it asks. */
    loaded_model *m = acquire_ok(r, "alpha");
    assert_true(registry_set_keep_alive(r, "alpha", 0));
    assert_string_equal(loaded_names(r), "alpha");
    registry_release(r, m, NAN);
    assert_true(seconds_until_unloaded(r) >= 0);

    /* ... unless a newer request came since. */
    m = acquire_ok(r, "alpha");
    assert_true(registry_set_keep_alive(r, "alpha", 0));
    loaded_model *newer = acquire_ok(r, "alpha");
    registry_release(r, m, NAN);
    registry_release(r, newer, NAN);
    assert_string_equal(loaded_names(r), "alpha");
    registry_free(r);
    remove_dir(dir);
}

/* ---- limits ------------------------------------------------------------- */

static void loaded_models_are_listed_most_recent_first(void **state) {
    (void)state;
    if (!tl_test_have_shared(STORIES)) skip();
    char *dir = dir_with("alpha,beta,gamma");
    tl_server_options options = options_for(dir);
    registry *r = open_ok(&options);
    use(r, "alpha");
    use(r, "beta");
    use(r, "gamma");
    assert_string_equal(loaded_names(r), "gamma,beta,alpha");
    use(r, "alpha");
    assert_string_equal(loaded_names(r), "alpha,gamma,beta");
    loaded_info info[2];
    assert_int_equal(registry_loaded(r, info, 2), 2);
    assert_string_equal(info[1].entry->name, "gamma");
    registry_free(r);
    remove_dir(dir);
}

static void max_loaded_evicts_the_least_recently_used(void **state) {
    (void)state;
    if (!tl_test_have_shared(STORIES)) skip();
    char *dir = dir_with("alpha,beta,gamma");
    tl_server_options options = options_for(dir);
    options.max_loaded = 2;
    registry *r = open_ok(&options);
    use(r, "alpha");
    use(r, "beta");
    use(r, "alpha"); /* beta is now the least recently used */
    use(r, "gamma");
    assert_string_equal(loaded_names(r), "gamma,alpha");
    registry_free(r);

    options.max_loaded = 1;
    r = open_ok(&options);
    use(r, "alpha");
    use(r, "beta");
    assert_string_equal(loaded_names(r), "beta");
    registry_free(r);
    remove_dir(dir);
}

static void held_models_are_not_evicted(void **state) {
    (void)state;
    if (!tl_test_have_shared(STORIES)) skip();
    char *dir = dir_with("alpha,beta");
    tl_server_options options = options_for(dir);
    options.max_loaded = 1;
    registry *r = open_ok(&options);
    loaded_model *alpha = acquire_ok(r, "alpha");
    loaded_model *m = NULL;
    tl_error err = {0};
    assert_int_equal(registry_acquire(r, "beta", &m, &err), REGISTRY_NO_ROOM);
    assert_null(m);
    if (!strstr(err.message, "--max-loaded") || !strstr(err.message, "beta")) fail_msg("message: %s", err.message);
    assert_string_equal(loaded_names(r), "alpha");
    /* The held model itself is still fine to share. */
    use(r, "alpha");
    registry_release(r, alpha, NAN);
    use(r, "beta");
    assert_string_equal(loaded_names(r), "beta");
    registry_free(r);
    remove_dir(dir);
}

/* ---- context sizes (Ollama's per-request num_ctx) ----------------------- */

static loaded_model *acquire_ctx_ok(registry *r, const char *name, uint32_t n_ctx) {
    loaded_model *m = NULL;
    tl_error err = {0};
    const registry_status status = registry_acquire_ctx(r, name, n_ctx, &m, &err);
    if (status != REGISTRY_OK) fail_msg("acquire %s with n_ctx %u: %d %s", name, n_ctx, status, err.message);
    return m;
}

static void another_context_size_reloads_the_idle_model(void **state) {
    (void)state;
    char *dir = dir_with("alpha,beta");
    write_text(dir, "beta.json", "{\"options\": {\"num_ctx\": 96}}");
    tl_server_options options = options_for(dir);
    registry *r = open_ok(&options);
    loaded_model *m = acquire_ctx_ok(r, "alpha", 0);
    assert_int_equal(m->n_ctx, 64); /* the server's -c */
    const engine *first = m->engine;
    registry_release(r, m, NAN);
    m = acquire_ctx_ok(r, "alpha", 64); /* the same size: no reload */
    assert_ptr_equal(m->engine, first);
    registry_release(r, m, NAN);
    m = acquire_ctx_ok(r, "alpha", 128);
    assert_int_equal(m->n_ctx, 128);
    loaded_info info[2];
    assert_int_equal(registry_loaded(r, info, 2), 1);
    assert_int_equal(info[0].n_ctx, 128);
    registry_release(r, m, NAN);
    m = acquire_ok(r, "alpha"); /* any size will do */
    assert_int_equal(m->n_ctx, 128);
    registry_release(r, m, NAN);
    m = acquire_ctx_ok(r, "alpha", 0); /* the default again */
    assert_int_equal(m->n_ctx, 64);
    registry_release(r, m, NAN);
    /* NAME.json's num_ctx is the default of its model. */
    m = acquire_ctx_ok(r, "beta", 0);
    assert_int_equal(m->n_ctx, 96);
    first = m->engine;
    registry_release(r, m, NAN);
    m = acquire_ctx_ok(r, "beta", 96);
    assert_ptr_equal(m->engine, first);
    registry_release(r, m, NAN);
    registry_free(r);
    remove_dir(dir);
}

typedef struct sized_request {
    registry *r;
    uint32_t n_ctx;
    loaded_model *m;
    _Atomic bool done;
} sized_request;

static void *acquire_sized(void *arg) {
    sized_request *q = arg;
    q->m = acquire_ctx_ok(q->r, "alpha", q->n_ctx);
    q->done = true;
    return NULL;
}

static void another_size_waits_until_the_model_is_idle(void **state) {
    (void)state;
    char *dir = dir_with("alpha");
    tl_server_options options = options_for(dir);
    registry *r = open_ok(&options);
    loaded_model *held = acquire_ctx_ok(r, "alpha", 0);
    sized_request q = {.r = r, .n_ctx = 200};
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, acquire_sized, &q), 0);
    usleep(200 * 1000); /* room for a wrong early return; the state checked is "still waiting" */
    assert_false(q.done);
    assert_int_equal(held->n_ctx, 64); /* not reloaded under its holder */
    registry_release(r, held, NAN);
    pthread_join(thread, NULL);
    assert_true(q.done);
    assert_int_equal(q.m->n_ctx, 200);
    registry_release(r, q.m, NAN);
    registry_free(r);
    remove_dir(dir);
}

static void a_context_over_max_memory_is_too_big(void **state) {
    (void)state;
    char *dir = dir_with("alpha");
    tl_server_options options = options_for(dir);
    options.max_memory = stories_size() + (1u << 20); /* the file and 1 MiB */
    registry *r = open_ok(&options);
    registry_release(r, acquire_ctx_ok(r, "alpha", 0), NAN);
    loaded_model *m = NULL;
    tl_error err = {0};
    for (int attempt = 0; attempt < 2; attempt++) { /* measured by a load, then estimated */
        assert_int_equal(registry_acquire_ctx(r, "alpha", 2048, &m, &err), REGISTRY_TOO_BIG);
        assert_null(m);
        if (!strstr(err.message, "--max-memory")) fail_msg("message: %s", err.message);
    }
    assert_int_equal(acquire_ctx_ok(r, "alpha", 0)->n_ctx, 64); /* still usable */
    registry_free(r);
    remove_dir(dir);
}

static void max_memory_evicts_and_refuses(void **state) {
    (void)state;
    if (!tl_test_have_shared(STORIES)) skip();
    char *dir = dir_with("alpha,beta");
    const uint64_t size = stories_size();
    tl_server_options options = options_for(dir);

    /* Smaller than the file: nothing ever fits. */
    options.max_memory = size / 2;
    registry *r = open_ok(&options);
    loaded_model *m = NULL;
    tl_error err = {0};
    assert_int_equal(registry_acquire(r, "alpha", &m, &err), REGISTRY_NO_ROOM);
    if (!strstr(err.message, "--max-memory")) fail_msg("message: %s", err.message);
    registry_free(r);

    /* Room for one file (and its context, whatever it weighs) but not two. */
    options.max_memory = size + size / 2;
    r = open_ok(&options);
    loaded_model *alpha = acquire_ok(r, "alpha"); /* over once loaded, but a load that worked is kept */
    assert_int_equal(registry_acquire(r, "beta", &m, &err), REGISTRY_NO_ROOM);
    if (!strstr(err.message, "--max-memory") || !strstr(err.message, "beta")) fail_msg("message: %s", err.message);
    registry_release(r, alpha, NAN);
    use(r, "beta");
    assert_string_equal(loaded_names(r), "beta");
    registry_free(r);

    /* Room for both: nothing is evicted. */
    options.max_memory = 1ull << 40;
    r = open_ok(&options);
    use(r, "alpha");
    use(r, "beta");
    assert_string_equal(loaded_names(r), "beta,alpha");
    registry_free(r);
    remove_dir(dir);
}

/* ---- many threads ------------------------------------------------------- */

typedef struct churner {
    registry *r;
    unsigned seed;
    int ok, no_room;
} churner;

/* Acquires random models with random keep_alives, holding each briefly. */
static void *churn(void *arg) {
    churner *c = arg;
    const char *names[] = {"alpha", "beta", "gamma"};
    const double keep_alives[] = {0, 0.01, NAN, -1};
    for (int i = 0; i < 60; i++) {
        c->seed = c->seed * 1103515245u + 12345u;
        loaded_model *m = NULL;
        tl_error err = {0};
        const registry_status status = registry_acquire(c->r, names[(c->seed >> 8) % 3], &m, &err);
        if (status == REGISTRY_OK) {
            c->ok++;
            if (!m->model || !m->engine || !m->end_marker) c->ok = -1000000;
            if ((c->seed >> 4) & 1) usleep(200);
            registry_release(c->r, m, keep_alives[(c->seed >> 12) % 4]);
        } else if (status == REGISTRY_NO_ROOM) {
            c->no_room++;
        } else {
            c->ok = -1000000;
        }
        if ((c->seed >> 16) % 8 == 0) registry_set_keep_alive(c->r, names[(c->seed >> 20) % 3], 0);
        if ((c->seed >> 18) % 8 == 0) {
            loaded_info info[4];
            registry_loaded(c->r, info, 4);
        }
    }
    return NULL;
}

static void many_threads_acquire_and_release(void **state) {
    (void)state;
    if (!tl_test_have_shared(STORIES)) skip();
    char *dir = dir_with("alpha,beta,gamma");
    tl_server_options options = options_for(dir);
    options.parallel = 1;
    for (int limit = 0; limit <= 2; limit++) {
        options.max_loaded = limit;
        registry *r = open_ok(&options);
        enum { N = 6 };
        churner churners[N];
        pthread_t threads[N];
        for (int i = 0; i < N; i++) {
            churners[i] = (churner){.r = r, .seed = 17u * (unsigned)i + 1u};
            assert_int_equal(pthread_create(&threads[i], NULL, churn, &churners[i]), 0);
        }
        int ok = 0, no_room = 0;
        for (int i = 0; i < N; i++) {
            pthread_join(threads[i], NULL);
            ok += churners[i].ok;
            no_room += churners[i].no_room;
        }
        assert_int_equal(ok + no_room, N * 60);
        if (limit == 0) assert_int_equal(no_room, 0);
        loaded_info info[4];
        const int n = registry_loaded(r, info, 4);
        if (limit) assert_true(n <= limit);
        for (int i = 0; i < n; i++) assert_int_equal(info[i].holders, 0);
        registry_free(r);
    }
    remove_dir(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(scan_lists_directory_and_files),
        cmocka_unit_test(scan_fails_on_duplicate_names),
        cmocka_unit_test(scan_fails_on_missing_paths),
        cmocka_unit_test(scan_fails_on_bad_defaults),
        cmocka_unit_test(find_accepts_tags_and_file_names),
        cmocka_unit_test(acquire_loads_a_generator),
        cmocka_unit_test(defaults_choose_the_template),
        cmocka_unit_test(encoder_models_get_no_engine),
        cmocka_unit_test(failed_load_is_reported_and_retried),
        cmocka_unit_test(concurrent_acquires_load_once),
        cmocka_unit_test(keep_alive_zero_unloads_on_release),
        cmocka_unit_test(keep_alive_expires_in_the_background),
        cmocka_unit_test(set_keep_alive_changes_loaded_models_only),
        cmocka_unit_test(loaded_models_are_listed_most_recent_first),
        cmocka_unit_test(max_loaded_evicts_the_least_recently_used),
        cmocka_unit_test(held_models_are_not_evicted),
        cmocka_unit_test(max_memory_evicts_and_refuses),
        cmocka_unit_test(many_threads_acquire_and_release),
        cmocka_unit_test(another_context_size_reloads_the_idle_model),
        cmocka_unit_test(another_size_waits_until_the_model_is_idle),
        cmocka_unit_test(a_context_over_max_memory_is_too_big),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
