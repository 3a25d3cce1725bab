/*
 * keys.test.js - virtual keys end to end: keys made by `switchyard keys`
 * and by the admin HTTP API serve chat; revoked, expired and unknown keys
 * get the same 401 as an unknown static key; the admin API refuses a
 * missing or wrong admin key; the model allow-list; money budgets under a
 * race of 32 clients on one stack and split across two stacks sharing
 * Redis (never over budget + one request, 429 budget_exceeded, no
 * reservation left); and a canary scan: no secret (server secret, admin
 * key, provider key, static key, a virtual key, a guessed key) in any
 * log, Redis key or value, error body, or `status` / `spend` output.
 *
 *   sh tests/integration/run.sh build tests/integration/keys.test.js
 *
 * Skipped when redis-server or lighttpd is missing.
 * SPDX-License-Identifier: MIT
 */
'use strict';

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const h = require('./harness');

const SKIP = h.missing('redis') || h.missing('lighttpd') || false;

/* Canary secrets: recognizable, each must never show up anywhere. */
const SECRETS = {
    SY_T_KEY_SECRET: 'CANARYsrvsecret-7f3a9c1e5b2d4680',
    SY_T_ADMIN: 'CANARYadminkey-2b8e6d0f4a1c3957',
    SY_T_PK: 'CANARYproviderkey-9d1f3b5a7c2e4608',
    SY_T_CK_STATIC: 'CANARYstatickey-4c6e8a0b2d1f3579',
    SY_T_CK_NARROW: 'CANARYnarrowkey-8e0c2a4f6b1d3975',
    SY_T_CK_LATER: 'CANARYlaterkey-3a5c7e9b1d0f2468',
};
/* A well-formed virtual key that was never created. */
const UNKNOWN_VKEY = 'sk-sy-CANARYunknownVirtualKey0123456789abcdefg';
const WRONG_ADMIN = 'CANARYwrongadmin-5e7a9c1b3d2f4680';
const CANARIES = [...Object.values(SECRETS), UNKNOWN_VKEY, WRONG_ADMIN];

/* Prices of the budget deployment: 1 micro-USD per prompt token and
 * 1000 micro-USD per completion token. The mock answers "Hello from
 * bud." (3 completion tokens), so a request costs about 3000 micro-USD;
 * with max_tokens 5 its worst case is about 5000 + the prompt. */
const PRICE = { input_per_mtok: 1, output_per_mtok: 1000 };
const MAX_TOKENS = 5;
const BUDGET_USD = 0.03;          /* about ten requests */
const BUDGET_MICRO = 30000;

/* 'laterKeys': configured keys only this stack has (one that came in a
 * later configuration, beside a virtual key of the same name). */
function config(mockPort, redisUrl, usageLog, laterKeys = {}) {
    const cfg = h.gatewayConfig(mockPort, {
        deployments: {
            basic: { api_key_env: 'SY_T_PK' },
            other: { api_key_env: 'SY_T_PK' },
            bud: { api_key_env: 'SY_T_PK' },
        },
        groups: { 'g-basic': ['basic'], 'g-other': ['other'], 'g-bud': ['bud'] },
        server: { processes: 2, threads: 16, admin_key_env: 'SY_T_ADMIN', usage_log: usageLog },
    });
    cfg.deployments.bud.price = { ...PRICE };
    cfg.state = {
        redis_url: redisUrl, prefix: 'sy:', refresh_ms: 200,
        connect_timeout_ms: 300, command_timeout_ms: 1000,
        key_secret_env: 'SY_T_KEY_SECRET',
        breaker: { consecutive: 0, failure_pct: 0 },
    };
    cfg.keys = {
        static: { key_env: 'SY_T_CK_STATIC' },
        'static-narrow': { key_env: 'SY_T_CK_NARROW', models: ['g-other'] },
        ...laterKeys,
    };
    return cfg;
}

function bearer(k) { return { Authorization: `Bearer ${k}` }; }

function brief(r) {
    return `${r.status} ${r.error || ''} ${(r.body || '').slice(0, 300)}`;
}

describe('virtual keys', { skip: SKIP }, () => {
    let redis;
    let redisDir;
    let A;
    let B;
    const seenBodies = [];    /* every answer body, for the canary scan */
    const vkeys = {};         /* name -> key (sk-sy-...), canaries too */
    let lastCli = '';         /* cli outputs (without create's), scanned */
    /* Is the admin route there? Until core/serve/pipeline.c routes /admin/keys
     * to sy_admin_keys(), the tests of the HTTP API are skipped and keys
     * are made with the CLI instead. */
    let ADMIN = false;
    const NO_ADMIN = 'the admin route /admin/keys is not wired in core/serve/pipeline.c';

    function cli(args) {
        const r = h.runSwitchyard(['keys', ...args, '--config', A.configFile], { env: SECRETS });
        return r;
    }

    function admin(stack, method, p, body, key = SECRETS.SY_T_ADMIN) {
        return h.request(stack.base('lighttpd'), {
            method, path: p, body, headers: key === null ? {} : bearer(key),
        }).then((r) => {
            /* a create's answer holds its key: that one is meant to */
            if (r.status !== 201) seenBodies.push(r.body);
            return r;
        });
    }

    function chat(stack, key, model = 'g-basic', extra, server = 'lighttpd') {
        return h.chat(stack.base(server), {
            model, headers: bearer(key), timeout: 15000, extra,
        }).then((r) => { seenBodies.push(r.body); return r; });
    }

    async function createViaCli(name, opts = []) {
        const r = cli(['create', '--name', name, ...opts, '--json']);
        assert.equal(r.status, 0, `keys create ${name}: ${r.stderr}`);
        assert.match(r.stderr, /cannot be shown again/);
        const j = JSON.parse(r.stdout);
        assert.match(j.key, /^sk-sy-[0-9A-Za-z]{40}$/);
        vkeys[name] = j.key;
        return j;
    }

    /* The CLI options for an admin API body. */
    function cliArgs(body) {
        const a = [];
        if (body.team) a.push('--team', body.team);
        if (body.budget_usd) a.push('--budget-usd', String(body.budget_usd));
        if (body.budget_period) a.push('--period', body.budget_period);
        if (body.rpm) a.push('--rpm', String(body.rpm));
        if (body.tpm) a.push('--tpm', String(body.tpm));
        if (body.models) a.push('--models', body.models.join(','));
        if (body.expires_at) a.push('--expires', String(body.expires_at));
        if (body.fail_open) a.push('--fail-open');
        return a;
    }

    async function createViaApi(body) {
        if (!ADMIN) return createViaCli(body.name, cliArgs(body));
        const r = await admin(A, 'POST', '/admin/keys', body);
        assert.equal(r.status, 201, brief(r));
        vkeys[body.name] = r.json.key;
        return r.json;
    }

    async function budgetHash(name, pid = 'total') {
        const r = await redis.cmd('HGETALL', `sy:budget:{${name}}:${pid}`);
        const o = {};
        for (let i = 0; i + 1 < r.length; i += 2) o[r[i]] = r[i + 1];
        return o;
    }

    before(async () => {
        assert.equal(UNKNOWN_VKEY.length, 46);
        redisDir = h.makeTmpDir('redis');
        redis = new h.Redis(redisDir);
        await redis.start();
        A = new h.Stack({ tag: 'vkA', env: SECRETS,
            config: (mockPort) => config(mockPort, redis.url, path.join(A.dir, 'usage.log')) });
        await A.start();
        B = new h.Stack({ tag: 'vkB', env: SECRETS, mock: false,
            servers: ['lighttpd', 'apache'],
            config: () => config(A.mock.port, redis.url, path.join(B.dir, 'usage.log'),
                                 { later: { key_env: 'SY_T_CK_LATER' } }) });
        await B.start();
        /* The admin API must be there: a missing route is a failure, not
         * a skip. */
        const probe = await h.request(A.base('lighttpd'), { path: '/admin/keys' });
        assert.notEqual(probe.status, 404, `${NO_ADMIN}: ${probe.body}`);
        ADMIN = true;
    });

    after(async () => {
        if (process.env.SY_TEST_VERBOSE === '1') {
            for (const s of [A, B]) if (s) process.stderr.write(`${s.logs()}\n`);
        }
        if (B) await B.stop();
        if (A) await A.stop();
        if (redis) await redis.stop();
        if (redisDir) h.removeTmpDir(redisDir);
    });

    test('a key made by `switchyard keys create` serves chat on both stacks', async () => {
        const j = await createViaCli('cli-key', ['--team', 'qa', '--rpm', '1000']);
        assert.equal(j.name, 'cli-key');
        assert.equal(j.team, 'qa');
        for (const s of [A, B]) {
            const r = await chat(s, vkeys['cli-key']);
            assert.equal(r.status, 200, brief(r));
        }
        const show = cli(['show', 'cli-key']);
        assert.equal(show.status, 0, show.stderr);
        assert.doesNotMatch(show.stdout + show.stderr, /sk-sy-/);
        const list = cli(['list', '--json']);
        assert.equal(list.status, 0, list.stderr);
        const names = JSON.parse(list.stdout).data.map((k) => k.name);
        assert.ok(names.includes('cli-key'), list.stdout);
        assert.doesNotMatch(list.stdout, /sk-sy-|hmac/);
        lastCli += show.stdout + show.stderr + list.stdout + list.stderr;
        /* A name is unique. */
        const again = cli(['create', '--name', 'cli-key']);
        assert.equal(again.status, 1);
        assert.match(again.stderr, /already taken/);
    });

    test('a key made by the admin API serves chat; list/show never hold a key', async (t) => {
        assert.ok(ADMIN, NO_ADMIN);
        const j = await createViaApi({ name: 'api-key', team: 'qa', rpm: 1000, models: [] });
        assert.match(j.key, /^sk-sy-[0-9A-Za-z]{40}$/);
        const r = await chat(A, vkeys['api-key']);
        assert.equal(r.status, 200, brief(r));
        const l = await admin(A, 'GET', '/admin/keys');
        assert.equal(l.status, 200, brief(l));
        assert.ok(l.json.data.some((k) => k.name === 'api-key'));
        assert.doesNotMatch(l.body, /sk-sy-|hmac/);
        const s = await admin(B, 'GET', '/admin/keys/api-key');
        assert.equal(s.status, 200, brief(s));
        assert.equal(s.json.name, 'api-key');
        assert.equal(s.json.key, undefined);
        const p = await admin(A, 'PATCH', '/admin/keys/api-key', { rpm: 500 });
        assert.equal(p.status, 200, brief(p));
        assert.equal(p.json.rpm, 500);
        assert.equal((await admin(A, 'GET', '/admin/keys/nope')).status, 404);
        assert.equal((await admin(A, 'POST', '/admin/keys', { name: 'api-key' })).status, 409);
        assert.equal((await admin(A, 'POST', '/admin/keys', { name: 'x', bogus: 1 })).status, 400);
    });

    test('a virtual key may not take a configured key\'s name (they would share limits and spend)', async () => {
        assert.ok(ADMIN, NO_ADMIN);
        const r = await admin(A, 'POST', '/admin/keys', { name: 'static' });
        assert.equal(r.status, 409, brief(r));
        assert.equal(r.json.error.code, 'name_taken');
        assert.equal(r.json.error.param, 'name');
        const c = cli(['create', '--name', 'static-narrow', '--json']);
        assert.notEqual(c.status, 0, c.stdout);
        assert.match(c.stderr, /configured caller key/);
        assert.equal((await admin(A, 'GET', '/admin/keys/static')).status, 404);
    });

    /* The other order: the virtual key came first (on A, whose
     * configuration has no 'later'), then a configuration with a key of
     * that name (B's). B refuses the virtual key rather than let the two
     * share limits and spend; A, and the configured key, still serve. */
    test('a configured key that came after a virtual key of its name: the virtual key is refused there', async () => {
        await createViaApi({ name: 'later' });
        const onA = await chat(A, vkeys.later);
        assert.equal(onA.status, 200, brief(onA));
        const onB = await chat(B, vkeys.later);
        assert.equal(onB.status, 403, brief(onB));
        assert.equal(onB.json.error.code, 'key_name_conflict');
        assert.equal(onB.json.error.type, 'permission_error');
        const configured = await chat(B, SECRETS.SY_T_CK_LATER);
        assert.equal(configured.status, 200, brief(configured));
        assert.equal((await admin(B, 'POST', '/admin/keys', { name: 'later' })).status, 409);
    });

    test('revoked, expired and unknown keys get the same 401 as an unknown static key', async () => {
        await createViaCli('to-revoke');
        await createViaApi({ name: 'to-expire', expires_at: Math.floor(Date.now() / 1000) + 2 });
        assert.equal((await chat(A, vkeys['to-revoke'])).status, 200);
        assert.equal((await chat(A, vkeys['to-expire'])).status, 200);
        await createViaCli('to-revoke2');
        assert.equal((await chat(B, vkeys['to-revoke2'])).status, 200);
        const rv = cli(['revoke', 'to-revoke']);
        assert.equal(rv.status, 0, rv.stderr);
        if (ADMIN) {
            const d = await admin(A, 'DELETE', '/admin/keys/to-revoke2');
            assert.equal(d.status, 200, brief(d));
            assert.equal(d.json.revoked, true);
        } else {
            assert.equal(cli(['revoke', 'to-revoke2']).status, 0);
        }
        await h.sleep(2500);
        const bodies = [];
        for (const k of [vkeys['to-revoke'], vkeys['to-revoke2'], vkeys['to-expire'], UNKNOWN_VKEY,
            'CANARYnotakey-0123456789abcdef']) {
            for (const s of [A, B]) {
                const r = await chat(s, k);
                assert.equal(r.status, 401, brief(r));
                bodies.push(r.body);
            }
        }
        for (const b of bodies) assert.equal(b, bodies[0]);
        assert.equal(JSON.parse(bodies[0]).error.code, 'invalid_api_key');
        /* The static key still works. */
        assert.equal((await chat(A, SECRETS.SY_T_CK_STATIC)).status, 200);
    });

    test('admin API: no key or a wrong key gets 401; a chat key is not an admin key', async (t) => {
        assert.ok(ADMIN, NO_ADMIN);
        for (const key of [null, WRONG_ADMIN, SECRETS.SY_T_CK_STATIC, vkeys['cli-key']]) {
            for (const [m, p] of [['GET', '/admin/keys'], ['POST', '/admin/keys'],
                ['GET', '/admin/keys/cli-key'], ['DELETE', '/admin/keys/cli-key']]) {
                const r = await admin(A, m, p, m === 'POST' ? { name: 'evil' } : undefined, key);
                assert.equal(r.status, 401, `${m} ${p}: ${brief(r)}`);
            }
        }
        const s = await admin(A, 'GET', '/admin/keys/cli-key');
        assert.equal(s.json.revoked, false, 'a refused DELETE must not revoke');
        assert.equal((await admin(A, 'GET', '/admin/keys/evil')).status, 404);
    });

    test('the model allow-list: other groups get 403 model_not_allowed', async () => {
        await createViaApi({ name: 'narrow', models: ['g-basic'] });
        const ok = await chat(A, vkeys.narrow, 'g-basic');
        assert.equal(ok.status, 200, brief(ok));
        const no = await chat(B, vkeys.narrow, 'g-other');
        assert.equal(no.status, 403, brief(no));
        assert.equal(no.json.error.code, 'model_not_allowed');
        /* Widened by an update (CLI), it works. */
        const u = cli(['update', 'narrow', '--models', 'g-basic,g-other']);
        assert.equal(u.status, 0, u.stderr);
        assert.equal((await chat(B, vkeys.narrow, 'g-other')).status, 200);
    });

    test('GET /v1/models and /v1/models/{id}: the 401 of chat; only the groups a key may use', async () => {
        await createViaApi({ name: 'lister', models: ['g-basic'] });
        const get = (s, p, key) => h.request(s.base('lighttpd'), {
            path: p, headers: key === null ? {} : bearer(key),
        }).then((r) => { seenBodies.push(r.body); return r; });
        const chat401 = await chat(A, 'CANARYnotakey-0123456789abcdef');
        assert.equal(chat401.status, 401, brief(chat401));
        for (const s of [A, B]) {
            for (const p of ['/v1/models', '/v1/models/g-basic', '/v1/models/nope']) {
                for (const key of [null, 'CANARYnotakey-0123456789abcdef', UNKNOWN_VKEY]) {
                    const r = await get(s, p, key);
                    assert.equal(r.status, 401, `${p}: ${brief(r)}`);
                    assert.equal(r.body, chat401.body, p);
                }
            }
        }
        const ids = async (key) => {
            const r = await get(A, '/v1/models', key);
            assert.equal(r.status, 200, brief(r));
            return r.json.data.map((m) => m.id).sort();
        };
        assert.deepEqual(await ids(SECRETS.SY_T_CK_STATIC), ['g-basic', 'g-bud', 'g-other']);
        assert.deepEqual(await ids(SECRETS.SY_T_CK_NARROW), ['g-other']);
        assert.deepEqual(await ids(vkeys.lister), ['g-basic']);
        for (const [key, ok, no] of [[vkeys.lister, 'g-basic', 'g-other'],
            [SECRETS.SY_T_CK_NARROW, 'g-other', 'g-basic']]) {
            const y = await get(B, `/v1/models/${ok}`, key);
            assert.equal(y.status, 200, brief(y));
            assert.equal(y.json.id, ok);
            const n = await get(B, `/v1/models/${no}`, key);
            assert.equal(n.status, 404, brief(n));
            assert.equal(n.json.error.code, 'model_not_found', brief(n));
        }
        assert.equal((await get(A, '/v1/models/g-bud', SECRETS.SY_T_CK_STATIC)).status, 200);
    });

    test('rpm of a virtual key is enforced across stacks: 429 with x-ratelimit-* headers', async () => {
        await createViaCli('slow', ['--rpm', '3']);
        const got = [];
        for (let i = 0; i < 5; i++) got.push(await chat(i % 2 ? B : A, vkeys.slow));
        assert.deepEqual(got.map((r) => r.status), [200, 200, 200, 429, 429],
            got.map(brief).join('\n'));
        const r = got[3];
        assert.equal(r.json.error.code, 'rate_limit_exceeded', brief(r));
        assert.ok(Object.keys(r.headers).some((k) => k.startsWith('x-ratelimit-')),
            JSON.stringify(r.headers));
    });

    /* 'clients' concurrent clients, requests of client i to stacks[i %
     * stacks.length], each sending until it got three 429s in a row (a
     * 429 may come while other requests hold reservations they will
     * partly give back, so a client tries again a little later). */
    async function race(name, stacks, clients = 32) {
        const results = [];
        async function client(i) {
            const s = stacks[i % stacks.length];
            let refusedInARow = 0;
            for (let n = 0; n < 60 && refusedInARow < 3; n++) {
                const r = await chat(s, vkeys[name], 'g-bud', { max_tokens: MAX_TOKENS });
                results.push(r);
                if (r.status === 200) {
                    refusedInARow = 0;
                } else {
                    refusedInARow++;
                    await h.sleep(30);
                }
            }
        }
        await Promise.all(Array.from({ length: clients }, (_, i) => client(i)));
        return results;
    }

    async function checkRace(name, results) {
        const ok = results.filter((r) => r.status === 200);
        const refused = results.filter((r) => r.status !== 200);
        for (const r of refused) {
            assert.equal(r.status, 429, brief(r));
            assert.equal(r.json.error.code, 'budget_exceeded', brief(r));
            assert.match(r.json.error.message, /\$\d+\.\d+ left/, brief(r));
        }
        assert.ok(refused.length >= 32 * 3, `${refused.length} refusals`);
        const costs = ok.map((r) => Math.round(Number(r.headers['x-switchyard-cost-usd']) * 1e6));
        for (const c of costs) assert.ok(c > 0 && c < 6000, `cost ${c}`);
        const largest = Math.max(...costs);
        const sum = costs.reduce((a, b) => a + b, 0);
        const hb = await budgetHash(name);
        const spent = Number(hb.spent || 0);
        assert.equal(spent, sum, `Redis spent ${spent} vs answers ${sum}: ${JSON.stringify(hb)}`);
        assert.ok(spent <= BUDGET_MICRO + largest, `spent ${spent} > ${BUDGET_MICRO} + ${largest}`);
        /* Nearly all of it was used: less than one more request was left. */
        assert.ok(spent > BUDGET_MICRO - 6000, `spent only ${spent}`);
        assert.equal(Number(hb.reserved || 0), 0, JSON.stringify(hb));
        const res = Object.keys(hb).filter((k) => k.startsWith('r:'));
        assert.deepEqual(res, [], `reservations left: ${JSON.stringify(hb)}`);
        assert.equal(await redis.cmd('ZCARD', `sy:budget:{${name}}:total:res`), 0);
        /* After the race, still refused, on every stack. */
        for (const s of [A, B]) {
            const r = await chat(s, vkeys[name], 'g-bud', { max_tokens: MAX_TOKENS });
            assert.equal(r.status, 429, brief(r));
            assert.equal(r.json.error.code, 'budget_exceeded');
        }
        /* show reports the same spend (CLI, and the API when wired). */
        const sh = cli(['show', name, '--json']);
        assert.equal(sh.status, 0, sh.stderr);
        lastCli += sh.stdout + sh.stderr;
        const shows = [JSON.parse(sh.stdout)];
        if (ADMIN) {
            const show = await admin(A, 'GET', `/admin/keys/${name}`);
            assert.equal(show.status, 200, brief(show));
            shows.push(show.json);
        }
        for (const j of shows) {
            assert.equal(Math.round(j.spent_usd * 1e6), spent);
            assert.equal(j.reserved_usd, 0);
            assert.equal(j.remaining_usd * 1e6, Math.max(0, BUDGET_MICRO - spent));
        }
        return { ok: ok.length, spent };
    }

    test('budget race: 32 clients on one stack never spend more than budget + one request', async () => {
        await createViaCli('bud-one', ['--budget-usd', String(BUDGET_USD), '--period', 'total']);
        const results = await race('bud-one', [A]);
        const r = await checkRace('bud-one', results);
        assert.ok(r.ok >= 8 && r.ok <= 10, `admitted ${r.ok}`);
    });

    test('budget race: 32 clients split across two stacks sharing Redis', async () => {
        await createViaApi({ name: 'bud-two', budget_usd: BUDGET_USD, budget_period: 'total' });
        const results = await race('bud-two', [A, B]);
        const r = await checkRace('bud-two', results);
        assert.ok(r.ok >= 8 && r.ok <= 10, `admitted ${r.ok}`);
        /* `switchyard spend --by key` agrees with the budget counter. */
        const sp = h.runSwitchyard(['spend', '--config', A.configFile, '--by', 'key', '--json'],
            { env: SECRETS });
        assert.equal(sp.status, 0, sp.stderr);
        lastCli += sp.stdout + sp.stderr;
        assert.match(sp.stdout, /bud-two/);
    });

    test('canaries: no secret in any log, Redis key or value, error body, status or spend output', async () => {
        /* More traffic that might leak: Apache too, bad keys, errors. */
        await chat(B, vkeys['cli-key'], 'g-basic', undefined, B.web.apache ? 'apache' : 'lighttpd');
        await chat(B, UNKNOWN_VKEY, 'g-basic', undefined, B.web.apache ? 'apache' : 'lighttpd');
        await chat(A, WRONG_ADMIN);
        /* Invalid bodies holding a canary: refused without echoing it. */
        if (ADMIN) {
            await admin(A, 'GET', '/admin/keys', undefined, WRONG_ADMIN);
            for (const body of [`{"name":"${UNKNOWN_VKEY}!"}`,
                `{"name":"ok-name","team":"${WRONG_ADMIN}!"}`,
                `{"name":"ok-name","${WRONG_ADMIN}":1}`, `not json ${WRONG_ADMIN}`,
                `{"name":"ok-name","models":"${WRONG_ADMIN}"}`]) {
                const r = await admin(A, 'POST', '/admin/keys', body);
                assert.equal(r.status, 400, brief(r));
            }
            const pr = await admin(A, 'PATCH', '/admin/keys/cli-key', `{"rpm":"${WRONG_ADMIN}"}`);
            assert.equal(pr.status, 400, brief(pr));
        }
        /* Let the usage logs and Redis batches flush. */
        await h.sleep(1500);

        const live = Object.entries(vkeys).map(([, k]) => k);
        const canaries = [...CANARIES, ...live];
        const texts = [];
        const st = h.runSwitchyard(['status', '--config', A.configFile], { env: SECRETS });
        const stj = h.runSwitchyard(['status', '--config', A.configFile, '--json'], { env: SECRETS });
        const sp = h.runSwitchyard(['spend', '--config', A.configFile, '--by', 'key'], { env: SECRETS });
        const ls = cli(['list']);
        const sh = cli(['show', 'cli-key']);
        for (const r of [st, stj, sp, ls, sh]) texts.push(['cli output', r.stdout + r.stderr]);
        texts.push(['earlier cli output', lastCli]);
        for (const b of seenBodies) texts.push(['an answer body', b]);
        /* Every file of both stacks (logs, usage logs, access logs) but the
         * mock's (it is the provider: it sees the provider key). */
        function walk(dir) {
            for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
                const p = path.join(dir, e.name);
                if (e.isDirectory()) walk(p);
                else if (e.isFile() && e.name !== 'mock.log' && !e.name.endsWith('.sock')) {
                    texts.push([p, fs.readFileSync(p, 'latin1')]);
                }
            }
        }
        walk(A.dir);
        walk(B.dir);
        walk(redisDir);
        assert.ok(texts.some(([p]) => p.endsWith('usage.log')), 'a usage log was written');
        assert.ok(texts.some(([p]) => /lighttpd-(error|access)\.log$/.test(p)), 'lighttpd logs exist');
        /* Every Redis key, and every value of every type. */
        const keys = await redis.keys('*');
        assert.ok(keys.some((k) => k.startsWith('sy:vk:')));
        for (const k of keys) {
            texts.push(['a redis key name', k]);
            const type = await redis.cmd('TYPE', k);
            let v;
            if (type === 'string') v = await redis.cmd('GET', k);
            else if (type === 'hash') v = await redis.cmd('HGETALL', k);
            else if (type === 'list') v = await redis.cmd('LRANGE', k, 0, -1);
            else if (type === 'set') v = await redis.cmd('SMEMBERS', k);
            else if (type === 'zset') v = await redis.cmd('ZRANGE', k, 0, -1, 'WITHSCORES');
            else if (type === 'stream') v = await redis.cmd('XRANGE', k, '-', '+');
            else v = await redis.cmd('DUMP', k);
            texts.push([`redis ${type} ${k}`, JSON.stringify(v)]);
        }
        const leaks = [];
        for (const [where, text] of texts) {
            for (const c of canaries) {
                if (text && text.includes(c)) leaks.push(`${c.slice(0, 14)}… in ${where}`);
            }
        }
        assert.deepEqual(leaks, []);
    });
});
