/*
 * mock_state.c - process-wide state of the mock LLM provider: the table of
 * deployments, each with its fault spec, counters and a ring of the last
 * requests it received; renders stats and the request log as JSON.
 * Shared by all worker threads: the table is guarded by an rwlock, each
 * deployment by its own mutex (counters are atomics). Deployments are
 * freed only by sy_mock_state_free, after the workers stopped.
 * SPDX-License-Identifier: MIT
 */
#include "mock_llm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#define STATE_BUCKETS 256

struct sy_mock_state {
    pthread_rwlock_t lock; /* guards buckets, order, n_deps */
    struct sy_mock_dep *buckets[STATE_BUCKETS];  /* owned chains */
    struct sy_mock_dep *order[SY_MOCK_MAX_DEPS]; /* creation order */
    size_t n_deps;
    uint64_t seed; /* for each deployment's rate PRNG */
};

/* New, empty state; the caller frees it with sy_mock_state_free. */
struct sy_mock_state *
sy_mock_state_new(uint64_t seed)
{
    struct sy_mock_state *st = sy_mock_xcalloc(1, sizeof(*st));

    pthread_rwlock_init(&st->lock, NULL);
    st->seed = seed;
    return st;
}

/* Free the state and every deployment. No worker may run any more. */
void
sy_mock_state_free(struct sy_mock_state *st)
{
    size_t i;
    size_t j;

    if (st == NULL) {
        return;
    }
    for (i = 0; i < st->n_deps; i++) {
        struct sy_mock_dep *dep = st->order[i];

        sy_mock_fault_unref(dep->fault);
        for (j = 0; j < SY_MOCK_LOG_SLOTS; j++) {
            sy_mock_buf_cleanup(&dep->log[j].head);
            sy_mock_buf_cleanup(&dep->log[j].body);
        }
        pthread_mutex_destroy(&dep->lock);
        free(dep);
    }
    pthread_rwlock_destroy(&st->lock);
    free(st);
}

/* Is "name" ("len" bytes) usable as a deployment name: 1..64 bytes of
 * letters, digits, '.', '_' and '-', and not "_mock"? */
bool
sy_mock_state_valid_name(const char *name, size_t len)
{
    size_t i;

    if (len == 0 || len > SY_MOCK_MAX_DEP_NAME) {
        return false;
    }
    for (i = 0; i < len; i++) {
        char c = name[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-')) {
            return false;
        }
    }
    return !(len == 5 && memcmp(name, "_mock", 5) == 0);
}

/* FNV-1a of "name". */
static unsigned
state_hash(const char *name, size_t len)
{
    uint32_t h = 2166136261u;
    size_t i;

    for (i = 0; i < len; i++) {
        h ^= (unsigned char)name[i];
        h *= 16777619u;
    }
    return h % STATE_BUCKETS;
}

/* Find "name" in bucket "b"; caller holds the lock. */
static struct sy_mock_dep *
state_find(struct sy_mock_state *st, unsigned b, const char *name, size_t len)
{
    struct sy_mock_dep *dep;

    for (dep = st->buckets[b]; dep != NULL; dep = dep->next) {
        if (strlen(dep->name) == len && memcmp(dep->name, name, len) == 0) {
            return dep;
        }
    }
    return NULL;
}

/*
 * The deployment called "name" ("len" bytes, already checked with
 * sy_mock_state_valid_name), created on first use. Returns a pointer that
 * stays valid until sy_mock_state_free, or NULL when the table is full.
 */
struct sy_mock_dep *
sy_mock_state_dep(struct sy_mock_state *st, const char *name, size_t len)
{
    unsigned b = state_hash(name, len);
    struct sy_mock_dep *dep;

    pthread_rwlock_rdlock(&st->lock);
    dep = state_find(st, b, name, len);
    pthread_rwlock_unlock(&st->lock);
    if (dep != NULL) {
        return dep;
    }
    pthread_rwlock_wrlock(&st->lock);
    dep = state_find(st, b, name, len);
    if (dep == NULL && st->n_deps < SY_MOCK_MAX_DEPS) {
        dep = sy_mock_xcalloc(1, sizeof(*dep));
        memcpy(dep->name, name, len);
        dep->name[len] = '\0';
        pthread_mutex_init(&dep->lock, NULL);
        dep->fault_left = -1;
        sy_mock_rng_seed(&dep->rate_rng, st->seed);
        dep->next = st->buckets[b];
        st->buckets[b] = dep;
        st->order[st->n_deps++] = dep;
    }
    pthread_rwlock_unlock(&st->lock);
    return dep;
}

/*
 * Give "dep" the spec "take" (ownership of one reference passes to the
 * deployment; NULL or an empty spec clears it). Restarts the "count" and
 * the "rate" PRNG, so a test that sets a spec sees a repeatable pattern.
 */
void
sy_mock_state_set_fault(struct sy_mock_state *st, struct sy_mock_dep *dep,
                        struct sy_mock_fault *take)
{
    struct sy_mock_fault *old;

    if (take != NULL && take->has == 0) {
        sy_mock_fault_unref(take);
        take = NULL;
    }
    pthread_mutex_lock(&dep->lock);
    old = dep->fault;
    dep->fault = take;
    dep->fault_left = -1;
    if (take != NULL && (take->has & SY_MOCK_F_COUNT)) {
        dep->fault_left = take->count;
    }
    sy_mock_rng_seed(&dep->rate_rng, st->seed);
    pthread_mutex_unlock(&dep->lock);
    sy_mock_fault_unref(old);
}

/*
 * The deployment's spec if it applies to this request, sent with API key
 * "key" ("key_len" bytes; NULL for none; see "only_key") ("rate" draws,
 * "count" is used up), as a reference the caller drops with
 * sy_mock_fault_unref; NULL when no spec applies.
 */
struct sy_mock_fault *
sy_mock_state_take_fault(struct sy_mock_dep *dep, const char *key,
                         size_t key_len)
{
    struct sy_mock_fault *f;
    struct sy_mock_fault *drop = NULL;

    pthread_mutex_lock(&dep->lock);
    f = dep->fault;
    /* A spec for another key's requests: untouched ("rate" draws and
     * "count" are for the matching requests only). */
    if (f != NULL && !sy_mock_fault_key_matches(f, key, key_len)) {
        f = NULL;
    }
    if (f != NULL && (f->has & SY_MOCK_F_RATE) &&
        sy_mock_rng_unit(&dep->rate_rng) >= f->rate) {
        f = NULL;
    }
    if (f != NULL && dep->fault_left == 0) {
        drop = dep->fault;
        dep->fault = NULL;
        f = NULL;
    }
    if (f != NULL) {
        sy_mock_fault_ref(f);
        if (dep->fault_left > 0 && --dep->fault_left == 0) {
            drop = dep->fault;
            dep->fault = NULL;
        }
    }
    pthread_mutex_unlock(&dep->lock);
    sy_mock_fault_unref(drop);
    return f;
}

/* Remove the spec of every deployment. */
void
sy_mock_state_clear_faults(struct sy_mock_state *st)
{
    size_t i;
    size_t n;

    pthread_rwlock_rdlock(&st->lock);
    n = st->n_deps;
    pthread_rwlock_unlock(&st->lock);
    for (i = 0; i < n; i++) {
        sy_mock_state_set_fault(st, st->order[i], NULL);
    }
}

/* Append {"deployment", "fault", "remaining"} for "dep" to "out". */
void
sy_mock_state_fault_json(struct sy_mock_dep *dep, struct sy_mock_buf *out)
{
    pthread_mutex_lock(&dep->lock);
    sy_mock_buf_puts(out, "{\"deployment\":");
    sy_mock_buf_json_cstr(out, dep->name);
    sy_mock_buf_puts(out, ",\"fault\":");
    sy_mock_buf_puts(out, dep->fault != NULL ? dep->fault->json : "{}");
    if (dep->fault_left >= 0) {
        sy_mock_buf_printf(out, ",\"remaining\":%ld}", dep->fault_left);
    } else {
        sy_mock_buf_puts(out, ",\"remaining\":null}");
    }
    pthread_mutex_unlock(&dep->lock);
}

/* Keep a copy of one request (raw head, body cut at LOG_MAX_BODY) in the
 * deployment's ring, replacing the oldest. */
void
sy_mock_state_record(struct sy_mock_dep *dep, const char *head, size_t head_len,
                     const char *body, size_t body_len)
{
    struct sy_mock_log_slot *slot;
    int64_t now = sy_mock_now_ms();

    pthread_mutex_lock(&dep->lock);
    slot = &dep->log[dep->log_next];
    dep->log_next = (dep->log_next + 1) % SY_MOCK_LOG_SLOTS;
    slot->used = true;
    slot->t_ms = now;
    sy_mock_buf_reset(&slot->head, 16 * 1024);
    sy_mock_buf_append(&slot->head, head, head_len);
    sy_mock_buf_reset(&slot->body, 64 * 1024);
    slot->body_cut = body_len > SY_MOCK_LOG_MAX_BODY;
    sy_mock_buf_append(&slot->body, body,
                       slot->body_cut ? SY_MOCK_LOG_MAX_BODY : body_len);
    pthread_mutex_unlock(&dep->lock);
}

/* Header fields of a raw head as a JSON object with lowercased names;
 * repeated fields are joined with ", ". Returns a new object. */
static struct json_object *
state_headers_json(const char *head, size_t len)
{
    struct json_object *obj = json_object_new_object();
    const char *p = memchr(head, '\n', len);
    const char *end = head + len;
    struct sy_mock_buf name = { 0 };

    p = p != NULL ? p + 1 : end;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *line_end = eol != NULL ? eol : end;
        const char *colon = memchr(p, ':', (size_t)(line_end - p));
        const char *v_end = line_end;
        struct json_object *old;

        if (colon != NULL) {
            const char *v;
            size_t i;

            sy_mock_buf_reset(&name, 4096);
            sy_mock_buf_append(&name, p, (size_t)(colon - p));
            for (i = 0; i < name.len; i++) {
                if (name.data[i] >= 'A' && name.data[i] <= 'Z') {
                    name.data[i] = (char)(name.data[i] - 'A' + 'a');
                }
            }
            v = colon + 1;
            while (v < v_end && (*v == ' ' || *v == '\t')) {
                v++;
            }
            while (v_end > v && (v_end[-1] == '\r' || v_end[-1] == ' ' ||
                                 v_end[-1] == '\t')) {
                v_end--;
            }
            if (json_object_object_get_ex(obj, name.data, &old)) {
                struct sy_mock_buf joined = { 0 };

                sy_mock_buf_puts(&joined, json_object_get_string(old));
                sy_mock_buf_puts(&joined, ", ");
                sy_mock_buf_append(&joined, v, (size_t)(v_end - v));
                json_object_object_add(
                    obj, name.data,
                    json_object_new_string_len(joined.data, (int)joined.len));
                sy_mock_buf_cleanup(&joined);
            } else {
                json_object_object_add(
                    obj, name.data,
                    json_object_new_string_len(v, (int)(v_end - v)));
            }
        }
        p = line_end + 1;
    }
    sy_mock_buf_cleanup(&name);
    return obj;
}

/* The body as parsed JSON when it is valid JSON, else as a string. */
static struct json_object *
state_body_json(const struct sy_mock_log_slot *slot)
{
    struct json_object *obj = NULL;

    if (!slot->body_cut && slot->body.len > 0) {
        obj = sy_mock_json_parse(slot->body.data, slot->body.len);
    }
    if (obj == NULL) {
        obj = json_object_new_string_len(slot->body.len ? slot->body.data : "",
                                         (int)slot->body.len);
    }
    return obj;
}

/* One recorded request as a new JSON object. */
static struct json_object *
state_slot_json(const struct sy_mock_log_slot *slot)
{
    struct json_object *obj = json_object_new_object();
    const char *head = slot->head.data;
    size_t len = slot->head.len;
    const char *sp1 = memchr(head, ' ', len);
    const char *eol = memchr(head, '\n', len);
    const char *sp2;

    if (eol == NULL) {
        eol = head + len;
    }
    if (sp1 == NULL || sp1 > eol) {
        sp1 = eol;
    }
    sp2 = memchr(sp1 + (sp1 < eol), ' ', (size_t)(eol - sp1));
    if (sp2 == NULL) {
        sp2 = eol;
    }
    json_object_object_add(obj, "method",
                           json_object_new_string_len(head, (int)(sp1 - head)));
    json_object_object_add(
        obj, "path",
        json_object_new_string_len(sp1 + (sp1 < sp2),
                                   (int)(sp2 - sp1 - (sp1 < sp2))));
    json_object_object_add(obj, "headers", state_headers_json(head, len));
    json_object_object_add(obj, "body", state_body_json(slot));
    if (slot->body_cut) {
        json_object_object_add(obj, "body_truncated",
                               json_object_new_boolean(1));
    }
    json_object_object_add(obj, "t_ms", json_object_new_int64(slot->t_ms));
    return obj;
}

/* Append the deployment's recorded requests, oldest first, as a JSON
 * array to "out". */
void
sy_mock_state_requests_json(struct sy_mock_dep *dep, struct sy_mock_buf *out)
{
    struct json_object *arr = json_object_new_array();
    unsigned i;

    pthread_mutex_lock(&dep->lock);
    for (i = 0; i < SY_MOCK_LOG_SLOTS; i++) {
        const struct sy_mock_log_slot *slot =
            &dep->log[(dep->log_next + i) % SY_MOCK_LOG_SLOTS];

        if (slot->used) {
            json_object_array_add(arr, state_slot_json(slot));
        }
    }
    pthread_mutex_unlock(&dep->lock);
    sy_mock_buf_puts(
        out, json_object_to_json_string_ext(
                 arr, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(arr);
}

/* Forget the recorded requests of "only", or of all deployments. */
void
sy_mock_state_clear_requests(struct sy_mock_state *st, struct sy_mock_dep *only)
{
    size_t i;
    size_t n;
    unsigned j;

    pthread_rwlock_rdlock(&st->lock);
    n = st->n_deps;
    pthread_rwlock_unlock(&st->lock);
    for (i = 0; i < n; i++) {
        struct sy_mock_dep *dep = st->order[i];

        if (only != NULL && dep != only) {
            continue;
        }
        pthread_mutex_lock(&dep->lock);
        for (j = 0; j < SY_MOCK_LOG_SLOTS; j++) {
            dep->log[j].used = false;
            sy_mock_buf_reset(&dep->log[j].head, 0);
            sy_mock_buf_reset(&dep->log[j].body, 0);
        }
        dep->log_next = 0;
        pthread_mutex_unlock(&dep->lock);
    }
}

/* Append the stats document (see README.md) to "out". */
void
sy_mock_state_stats_json(struct sy_mock_state *st, struct sy_mock_buf *out)
{
    unsigned long total = 0;
    size_t i;
    size_t n;
    int s;

    pthread_rwlock_rdlock(&st->lock);
    n = st->n_deps;
    pthread_rwlock_unlock(&st->lock);
    sy_mock_buf_puts(out, "{\"deployments\":{");
    for (i = 0; i < n; i++) {
        struct sy_mock_dep *dep = st->order[i];
        unsigned long req = atomic_load(&dep->requests);
        bool first = true;

        total += req;
        sy_mock_buf_printf(
            out,
            "%s\"%s\":{\"requests\":%lu,\"streams\":%lu,"
            "\"in_flight\":%ld,\"max_in_flight\":%ld,"
            "\"by_status\":{",
            i ? "," : "", dep->name, req, atomic_load(&dep->streams),
            atomic_load(&dep->in_flight), atomic_load(&dep->max_in_flight));
        for (s = 0; s < 600; s++) {
            unsigned long c = atomic_load(&dep->by_status[s]);

            if (c == 0) {
                continue;
            }
            if (s == 0) {
                sy_mock_buf_printf(out, "%s\"reset\":%lu", first ? "" : ",", c);
            } else {
                sy_mock_buf_printf(out, "%s\"%d\":%lu", first ? "" : ",", s, c);
            }
            first = false;
        }
        sy_mock_buf_puts(out, "}}");
    }
    sy_mock_buf_printf(out, "},\"total\":%lu}", total);
}

/* Zero the counters of every deployment (in_flight stays true, and
 * max_in_flight restarts from it). */
void
sy_mock_state_reset_stats(struct sy_mock_state *st)
{
    size_t i;
    size_t n;
    int s;

    pthread_rwlock_rdlock(&st->lock);
    n = st->n_deps;
    pthread_rwlock_unlock(&st->lock);
    for (i = 0; i < n; i++) {
        struct sy_mock_dep *dep = st->order[i];

        atomic_store(&dep->requests, 0);
        atomic_store(&dep->streams, 0);
        atomic_store(&dep->max_in_flight, atomic_load(&dep->in_flight));
        for (s = 0; s < 600; s++) {
            atomic_store(&dep->by_status[s], 0);
        }
    }
}

/* A request of "dep" starts: count it in flight. */
void
sy_mock_state_begin(struct sy_mock_dep *dep)
{
    long now = atomic_fetch_add(&dep->in_flight, 1) + 1;
    long max = atomic_load(&dep->max_in_flight);

    while (now > max &&
           !atomic_compare_exchange_weak(&dep->max_in_flight, &max, now)) {
    }
}

/* A request of "dep" ended (answered, or its connection went away). */
void
sy_mock_state_end(struct sy_mock_dep *dep)
{
    atomic_fetch_sub(&dep->in_flight, 1);
}

/* Count one response of "status" (0 for a reset). */
void
sy_mock_state_count_status(struct sy_mock_dep *dep, int status)
{
    if (status >= 0 && status < 600) {
        atomic_fetch_add(&dep->by_status[status], 1);
    }
}
