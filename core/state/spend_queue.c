/*
 * spend_queue.c - request costs waiting for the state thread, written
 * to Redis exactly once (spend_queue.h).
 *
 * Records pass from 'in' (requests, under the lock) to the open batch
 * (the state thread's), which sums them by (hash, field). The open
 * batch is sealed - numbered, never changed again - when no sealed batch
 * is waiting, and every flush sends the sealed ones, oldest first, until
 * Redis answers each. Their script (lua/spend.lua) applies a batch once,
 * and only after the one numbered before it, so a batch sent again
 * after a lost reply, or one sent behind a batch that failed in the
 * same pipeline, changes nothing. Because a sealed batch never changes,
 * what Redis may have applied is exactly what is sent again.
 *
 * Why not plain pipelined HINCRBYs, as before: a pipeline whose reply is
 * lost may have run, so neither dropping nor resending it is right, and
 * error replies of single commands (OOM, WRONGTYPE) went unseen; spend
 * was lost without a word.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "spend_queue.h"
#include "keys.h"
#include "lua.h"
#include "base/clock.h"
#include "base/limits.h"
#include "base/log.h"
#include "base/mem.h"
#include "metrics.h"
#include "spend.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#define BATCH_BYTES (1u << 20)    /* a batch is sealed past this size */
#define BATCH_KEYS  16u           /* ... or this many hashes */
#define REC_KEYS    3u            /* hashes one record adds to, at most */
#define FLUSH_BYTES (4u << 20)    /* spend one flush sends, about */
#define MARK_TTL_S  (7u * 86400u) /* a lost reply is recognised this long */
#define OP_BYTES    64u           /* an increment's text besides its field */

/* A queued record and the caller key's strings it points at once it is
 * read (entries are copied between the two buffers, so the pointers are
 * set again then). */
struct entry {
    struct sy_usage_record r;
    char key_name[SY_SPEND_NAME_CAP];
    char team[SY_SPEND_NAME_CAP];
};

/* One increment of a batch: 'amount' to 'field' of hash 'key'. */
struct op {
    uint32_t key; /* index into the batch's keys */
    int64_t amount;
    char *field; /* owned */
};

/* Summed spend, sent as one script call. */
struct batch {
    uint64_t seq;             /* 1, 2, ...; 0 while open */
    char *keys[BATCH_KEYS];   /* owned: the hashes added to */
    uint32_t ttl[BATCH_KEYS]; /* their TTL in s, 0: none */
    size_t nkeys;
    struct op *ops;
    size_t nops;
    size_t cap;
    uint32_t *index;  /* while open: (key, field) -> op + 1, 0 empty */
    size_t index_cap; /* a power of two, > 2 nops */
    size_t bytes;     /* its script call's text, about */
    int64_t cost;     /* its requests' cost in micro-dollars (logs) */
    size_t reply;     /* its reply's place in the flush that sent it */
};

struct sy_spend_queue {
    pthread_mutex_t lock; /* guards 'in' and 'nin' */
    struct entry *in;     /* filled by requests */
    size_t nin;
    struct entry *out; /* the flush's copy */
    size_t cap;
    /* The state thread's only: */
    char id[17];         /* this process's, in the mark's key */
    uint64_t next_seq;   /* the number the next sealed batch takes */
    struct batch *open;  /* sums records until sealed; NULL: none */
    struct batch **kept; /* sealed, oldest first, numbered in a row */
    size_t nkept;
    size_t capkept;
    size_t kept_bytes;
    size_t nsent;      /* kept[0 .. nsent) are in the flush under way */
    bool failing;      /* spend failed since it was last all written */
    size_t late_n;     /* batches written since it failed */
    int64_t late_cost; /* ... and their cost */
};

/* A process id no other process (here or on another host, now or after
 * a restart) takes: 64 random bits. */
static void
make_id(char out[17])
{
    uint64_t r;
    if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
        r = sy_now_us() ^ ((uint64_t)getpid() << 32) ^ sy_wall_ms();
    snprintf(out, 17, "%016" PRIx64, r);
}

struct sy_spend_queue *
sy_spend_queue_new(size_t cap)
{
    struct sy_spend_queue *q = sy_xcalloc(1, sizeof(*q));
    pthread_mutex_init(&q->lock, NULL);
    q->in = sy_xcalloc(cap, sizeof(*q->in));
    q->out = sy_xcalloc(cap, sizeof(*q->out));
    q->cap = cap;
    make_id(q->id);
    q->next_seq = 1;
    return q;
}

/* ------------------------------------------------------------------ */
/* Batches                                                             */

static void
batch_free(struct batch *b)
{
    if (b == NULL)
        return;
    for (size_t i = 0; i < b->nkeys; i++)
        free(b->keys[i]);
    for (size_t i = 0; i < b->nops; i++)
        free(b->ops[i].field);
    free(b->ops);
    free(b->index);
    free(b);
}

/* FNV-1a of the hash's index and the field. */
static uint32_t
op_hash(uint32_t key, const char *field)
{
    uint32_t h = (2166136261u ^ key) * 16777619u;
    for (const char *p = field; *p != '\0'; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    return h;
}

/* The index slot of (key, field): its op's or the empty one where it
 * would go (the index is never full: load <= 1/2). */
static size_t
op_slot(const struct batch *b, uint32_t key, const char *field)
{
    size_t mask = b->index_cap - 1;
    for (size_t i = op_hash(key, field) & mask;; i = (i + 1) & mask) {
        uint32_t at = b->index[i];
        if (at == 0 || (b->ops[at - 1].key == key &&
                        strcmp(b->ops[at - 1].field, field) == 0))
            return i;
    }
}

static void
index_grow(struct batch *b)
{
    b->index_cap = b->index_cap == 0 ? 64 : b->index_cap * 2;
    free(b->index);
    b->index = sy_xcalloc(b->index_cap, sizeof(*b->index));
    for (size_t k = 0; k < b->nops; k++)
        b->index[op_slot(b, b->ops[k].key, b->ops[k].field)] =
            (uint32_t)(k + 1);
}

/* The index of hash 'key' in 'b', added with 'ttl' when new; the caller
 * made sure there is room (open_batch). */
static uint32_t
batch_key(struct batch *b, const char *key, uint32_t ttl)
{
    for (size_t i = 0; i < b->nkeys; i++)
        if (strcmp(b->keys[i], key) == 0)
            return (uint32_t)i;
    b->keys[b->nkeys] = sy_xstrdup(key);
    b->ttl[b->nkeys] = ttl;
    b->bytes += strlen(key) + OP_BYTES;
    return (uint32_t)b->nkeys++;
}

/* Add 'amount' to (key, field) of open batch 'b'. */
static void
batch_add(struct batch *b, uint32_t key, const char *field, int64_t amount)
{
    if (2 * (b->nops + 1) > b->index_cap)
        index_grow(b);
    size_t slot = op_slot(b, key, field);
    if (b->index[slot] != 0) {
        struct op *o = &b->ops[b->index[slot] - 1];
        if (__builtin_add_overflow(o->amount, amount, &o->amount))
            o->amount = amount > 0 ? INT64_MAX : INT64_MIN;
        return;
    }
    if (b->nops == b->cap) {
        b->cap = b->cap == 0 ? 32 : b->cap * 2;
        b->ops = sy_xrealloc(b->ops, b->cap * sizeof(*b->ops));
    }
    b->ops[b->nops] = (struct op){ key, amount, sy_xstrdup(field) };
    b->index[slot] = (uint32_t)(++b->nops);
    b->bytes += strlen(field) + OP_BYTES;
}

/* ------------------------------------------------------------------ */
/* The backlog                                                         */

/* Number the open batch and put it behind the sealed ones: from now on
 * it is sent as it is. */
static void
seal(struct sy_spend_queue *q)
{
    struct batch *o = q->open;
    if (o == NULL || o->nops == 0)
        return;
    free(o->index);
    o->index = NULL;
    o->index_cap = 0;
    o->seq = q->next_seq++;
    if (q->nkept == q->capkept) {
        q->capkept = q->capkept == 0 ? 8 : q->capkept * 2;
        q->kept = sy_xrealloc(q->kept, q->capkept * sizeof(*q->kept));
    }
    q->kept[q->nkept++] = o;
    q->kept_bytes += o->bytes;
    q->open = NULL;
}

/* Forget the oldest sealed batch (written, or given up). */
static void
pop_front(struct sy_spend_queue *q)
{
    struct batch *b = q->kept[0];
    q->kept_bytes -= b->bytes;
    batch_free(b);
    memmove(q->kept, q->kept + 1, (q->nkept - 1) * sizeof(*q->kept));
    q->nkept--;
}

/* The open batch, with room for one more record (a full one is sealed:
 * a record never straddles two batches). */
static struct batch *
open_batch(struct sy_spend_queue *q)
{
    struct batch *o = q->open;
    if (o != NULL &&
        (o->bytes >= BATCH_BYTES || o->nkeys + REC_KEYS > BATCH_KEYS))
        seal(q);
    if (q->open == NULL)
        q->open = sy_xcalloc(1, sizeof(*q->open));
    return q->open;
}

/* Past SY_SPEND_BACKLOG_BYTES, give up the oldest batches, saying how
 * much money Redis will miss (the usage log keeps every record). */
static void
trim(struct sy_spend_queue *q)
{
    size_t open = q->open != NULL ? q->open->bytes : 0;
    while (q->nkept > 0 && q->kept_bytes + open > SY_SPEND_BACKLOG_BYTES) {
        sy_log_warn(NULL,
                    "shared state: spend backlog full: batch %" PRIu64
                    " given up, %" PRId64 " micro-dollars of spend not "
                    "recorded in Redis (the usage log has them)",
                    q->kept[0]->seq, q->kept[0]->cost);
        pop_front(q);
    }
}

size_t
sy_spend_queue_backlog(const struct sy_spend_queue *q, int64_t *cost)
{
    int64_t sum = q->open != NULL ? q->open->cost : 0;
    for (size_t i = 0; i < q->nkept; i++)
        sum += q->kept[i]->cost;
    if (cost != NULL)
        *cost = sum;
    return q->nkept + (q->open != NULL && q->open->nops > 0 ? 1 : 0);
}

void
sy_spend_queue_free(struct sy_spend_queue *q)
{
    if (q == NULL)
        return;
    int64_t cost;
    size_t n = sy_spend_queue_backlog(q, &cost);
    if (n > 0)
        sy_log_warn(NULL,
                    "shared state: stopping with %zu spend batches unwritten: "
                    "%" PRId64 " micro-dollars of spend not recorded in "
                    "Redis (the usage log has them)",
                    n, cost);
    for (size_t i = 0; i < q->nkept; i++)
        batch_free(q->kept[i]);
    free(q->kept);
    batch_free(q->open);
    pthread_mutex_destroy(&q->lock);
    free(q->in);
    free(q->out);
    free(q);
}

/* ------------------------------------------------------------------ */
/* Records                                                             */

/* 'src' (NULL: none) into 'dst', as the record will name it. */
static const char *
keep(char *dst, const char *src)
{
    if (src == NULL)
        return NULL;
    snprintf(dst, SY_SPEND_NAME_CAP, "%s", src);
    return dst;
}

bool
sy_spend_queue_push(struct sy_spend_queue *q, const struct sy_usage_record *r)
{
    pthread_mutex_lock(&q->lock);
    bool room = q->nin < q->cap;
    if (room) {
        struct entry *e = &q->in[q->nin++];
        e->r = *r;
        e->r.request_id = NULL;
        e->r.trace_id = NULL;
        e->r.error = NULL;
        e->r.key_name = keep(e->key_name, r->key_name);
        e->r.team = keep(e->team, r->team);
        if (e->r.time_ms == 0)
            e->r.time_ms = sy_wall_ms();
    }
    pthread_mutex_unlock(&q->lock);
    return room;
}

/* The day's spend hash fields of 'r' (sy_spend_record_fields: the same
 * fields and refusals as sy_spend_write) into 'o'. */
static void
add_spend(struct batch *o, const char *prefix, const struct sy_usage_record *r)
{
    struct sy_spend_amount *f = sy_xcalloc(SY_SPEND__COUNT, sizeof(*f));
    bool ok;
    size_t nf = sy_spend_record_fields(r, f, &ok);
    char key[SY_KEY_MAX];
    int kn = sy_spend_key(key, sizeof(key), prefix, sy_spend_day(r->time_ms));
    if (nf > 0 && kn >= 0 && (size_t)kn < sizeof(key)) {
        uint32_t k = batch_key(o, key, SY_SPEND_TTL_S);
        for (size_t i = 0; i < nf; i++)
            batch_add(o, k, f[i].field, f[i].amount);
    }
    free(f);
}

/* The metrics' cost and baseline fields of 'r' into 'o' (the families
 * of metrics.c, key|team|group|deployment and key|team|group): in the
 * batch's one script call, so that they too count once. */
static void
add_metrics(struct batch *o, const char *prefix,
            const struct sy_usage_record *r)
{
    char key[SY_KEY_MAX], field[600], kn[200], team[200];
    if (r->group == NULL || r->deployment == NULL)
        return;
    sy_metrics_escape(kn, sizeof(kn), r->key_name ? r->key_name : "");
    sy_metrics_escape(team, sizeof(team), r->team ? r->team : "");
    if (r->cost_micro_usd > 0) {
        snprintf(field, sizeof(field), "%s|%s|%s|%s", kn, team, r->group,
                 r->deployment);
        sy_key_metrics(key, sizeof(key), prefix,
                       sy_metrics_family_name(SY_MF_COST));
        batch_add(o, batch_key(o, key, 0), field, r->cost_micro_usd);
    }
    if (r->baseline_micro_usd > 0) {
        snprintf(field, sizeof(field), "%s|%s|%s", kn, team, r->group);
        sy_key_metrics(key, sizeof(key), prefix,
                       sy_metrics_family_name(SY_MF_BASELINE));
        batch_add(o, batch_key(o, key, 0), field, r->baseline_micro_usd);
    }
}

/* Move the queued records into the open batch. */
static void
take_records(struct sy_spend_queue *q, const char *prefix)
{
    pthread_mutex_lock(&q->lock);
    size_t n = q->nin;
    memcpy(q->out, q->in, n * sizeof(*q->out));
    q->nin = 0;
    pthread_mutex_unlock(&q->lock);
    for (size_t i = 0; i < n; i++) {
        struct entry *e = &q->out[i];
        e->r.key_name = e->r.key_name != NULL ? e->key_name : NULL;
        e->r.team = e->r.team != NULL ? e->team : NULL;
        struct batch *o = open_batch(q);
        add_spend(o, prefix, &e->r);
        add_metrics(o, prefix, &e->r);
        o->cost += e->r.cost_micro_usd;
    }
}

/* ------------------------------------------------------------------ */
/* Sending                                                             */

static const struct sy_store_script script = { .name = "spend",
                                               .embedded = sy_lua_spend };

/* The increments of 'b' as the script reads them (ARGV[4]):
 * "<hash> <amount> <length>:<field>" each, <hash> counted from 1. */
static char *
encode_ops(const struct batch *b)
{
    size_t cap = b->bytes + 1, len = 0;
    char *s = sy_xcalloc(cap, 1);
    for (size_t i = 0; i < b->nops; i++) {
        const struct op *o = &b->ops[i];
        size_t flen = strlen(o->field);
        int n = snprintf(s + len, cap - len,
                         "%" PRIu32 " %" PRId64 " %zu:", o->key + 1, o->amount,
                         flen);
        len += (size_t)n;
        memcpy(s + len, o->field, flen);
        len += flen;
    }
    s[len] = '\0';
    return s;
}

/* Append the script call of sealed batch 'b' to 'sb'; 'done' is the
 * number of the last batch this process is done with. */
static enum sy_err
send_batch(const struct sy_spend_queue *q, struct sy_store_batch *sb,
           const char *prefix, const struct batch *b, uint64_t done)
{
    char mark[SY_KEY_MAX], seq[24], dn[24], mttl[16];
    char ttl[BATCH_KEYS][16];
    const char *keys[1 + BATCH_KEYS], *args[4 + BATCH_KEYS];
    sy_key_spend_batch(mark, sizeof(mark), prefix, q->id);
    snprintf(seq, sizeof(seq), "%" PRIu64, b->seq);
    snprintf(dn, sizeof(dn), "%" PRIu64, done);
    snprintf(mttl, sizeof(mttl), "%u", MARK_TTL_S);
    char *ops = encode_ops(b);
    keys[0] = mark;
    args[0] = seq;
    args[1] = dn;
    args[2] = mttl;
    args[3] = ops;
    for (size_t i = 0; i < b->nkeys; i++) {
        snprintf(ttl[i], sizeof(ttl[i]), "%" PRIu32, b->ttl[i]);
        keys[1 + i] = b->keys[i];
        args[4 + i] = ttl[i];
    }
    int nk = (int)b->nkeys + 1, na = (int)b->nkeys + 4;
    enum sy_err e = sy_store_batch_eval(sb, &script, nk, keys, na, args);
    free(ops);
    return e;
}

size_t
sy_spend_queue_write(struct sy_spend_queue *q, struct sy_store_batch *b,
                     const char *prefix, bool last)
{
    take_records(q, prefix);
    trim(q);
    if (q->nkept == 0 || last)
        seal(q);
    uint64_t done = q->nkept > 0 ? q->kept[0]->seq - 1 : q->next_seq - 1;
    size_t bytes = 0;
    q->nsent = 0;
    while (q->nsent < q->nkept) {
        struct batch *k = q->kept[q->nsent];
        if (q->nsent > 0 && bytes + k->bytes > FLUSH_BYTES)
            break; /* the rest go at the next flush */
        k->reply = b->n;
        if (send_batch(q, b, prefix, k, done) != SY_OK)
            break;
        bytes += k->bytes;
        q->nsent++;
    }
    return q->nsent;
}

/* Spend could not be written: say so once until it is all written. */
static void
spend_failed(struct sy_spend_queue *q, const char *why)
{
    if (q->failing)
        return;
    q->failing = true;
    q->late_n = 0;
    q->late_cost = 0;
    int64_t cost;
    size_t n = sy_spend_queue_backlog(q, &cost);
    sy_log_warn(NULL,
                "shared state: spend not written to Redis (%.200s): %zu "
                "batches (%" PRId64 " micro-dollars) kept and sent again "
                "at each flush",
                why, n, cost);
}

void
sy_spend_queue_done(struct sy_spend_queue *q,
                    const struct sy_store_val *replies, size_t n)
{
    size_t sent = q->nsent;
    q->nsent = 0;
    if (sent > 0 && replies == NULL) {
        spend_failed(q, "the pipeline failed or its reply was lost");
        return;
    }
    for (size_t i = 0; i < sent; i++) {
        const struct sy_store_val *v =
            q->kept[0]->reply < n ? &replies[q->kept[0]->reply] : NULL;
        if (v == NULL || v->type != SY_STORE_INT) {
            bool err = v != NULL && v->type == SY_STORE_ERROR;
            spend_failed(q, err ? v->str : "an unexpected reply");
            return; /* this one and those after it stay */
        }
        q->late_n++;
        q->late_cost += q->kept[0]->cost;
        pop_front(q);
    }
    if (q->failing && q->nkept == 0 &&
        (q->open == NULL || q->open->nops == 0)) {
        q->failing = false;
        sy_log_info(NULL,
                    "shared state: spend backlog written to Redis: %zu "
                    "batches, %" PRId64 " micro-dollars",
                    q->late_n, q->late_cost);
    }
}
