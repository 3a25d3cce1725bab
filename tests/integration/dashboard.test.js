/*
 * dashboard.test.js - GET /dashboard in headless Chromium (Debian
 * 'chromium', driven over the DevTools protocol by ./cdp.js).
 *
 * 1. The page and its parser, against a fixture: a small node server
 *    mounts the page served by the gateway under /sub/ next to a
 *    /sub/metrics of fixed Prometheus text that answers 401 until the
 *    admin key comes. The page must fetch by a relative URL, ask for the
 *    key, send it as a Bearer token, parse escaped labels, render a label
 *    holding markup as text, and run under its own strict CSP.
 * 2. The real thing: the gateway with Redis and three mock deployments;
 *    traffic goes through lighttpd, the page reads the real /metrics.
 *    Numbers appear; then one deployment is slowed and another fails
 *    until its breaker opens, and the page shows both.
 * Screenshots go to $SY_BUILD_DIR/dashboard/*.png.
 *
 *   sh tests/integration/run.sh build tests/integration/dashboard.test.js
 *
 * Skipped when chromium, redis-server or lighttpd is missing.
 * SPDX-License-Identifier: MIT
 */
'use strict';

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const http = require('node:http');
const path = require('node:path');
const h = require('./harness');
const { Browser, chromiumBinary } = require('./cdp');

const SKIP = (!chromiumBinary() && 'chromium not installed') || h.missing('redis') ||
    h.missing('lighttpd') || false;
const SHOTS = path.join(h.BUILD, 'dashboard');
const ADMIN = 'dash-admin-key-0123456789';
const KEYS = { alice: 'sk-dash-alice-0123456789', bob: 'sk-dash-bob-0123456789' };

function config(mockPort, redisUrl) {
    const cfg = h.gatewayConfig(mockPort, {
        deployments: { 'd-fast': {}, 'd-slow': {}, 'd-fail': {} },
        groups: {
            'g-dash': { deployments: ['d-fast', 'd-slow', 'd-fail'], strategy: 'weighted' },
        },
        server: { processes: 2, threads: 8, admin_key_env: 'SY_T_DASH_ADMIN' },
    });
    /* With an admin key the default list no longer counts: the browser on
     * this host is let in by an explicit one. */
    cfg.metrics = { allow: ['127.0.0.1/32'] };
    cfg.deployments['d-fast'].price = { input_per_mtok: 2, output_per_mtok: 8 };
    cfg.deployments['d-slow'].price = { input_per_mtok: 1, output_per_mtok: 4 };
    cfg.deployments['d-fail'].price = { input_per_mtok: 3, output_per_mtok: 12 };
    cfg.keys = {
        alice: { key_env: 'SY_T_DASH_ALICE', team: 'red', rpm: 5000 },
        bob: { key_env: 'SY_T_DASH_BOB', team: 'blue', rpm: 5000 },
    };
    /* A window long enough to outlast the browser's start: the first
     * traffic must still be in it when the page first reads /metrics
     * (under the sanitizers the page came after 8 s had passed). */
    cfg.state = {
        redis_url: redisUrl, prefix: 'sy:', refresh_ms: 200, window_ms: 30000, slice_ms: 1000,
        connect_timeout_ms: 200, command_timeout_ms: 200,
        breaker: {
            consecutive: 3, failure_pct: 0, open_ms: 60000, open_max_ms: 60000,
            jitter_pct: 0, probe_ms: 10000,
        },
    };
    return cfg;
}

/* The one inline element TAG of 'html': its content, as the CSP hashes it. */
function inline(html, tag) {
    const a = html.indexOf(`<${tag}>`);
    const b = html.indexOf(`</${tag}>`, a);
    assert.ok(a >= 0 && b > a, `no <${tag}> element`);
    assert.equal(html.indexOf(`<${tag}>`, a + 1), -1, `a second <${tag}> element`);
    return html.slice(a + tag.length + 2, b);
}
const sha = (s) => `'sha256-${crypto.createHash('sha256').update(s, 'utf8').digest('base64')}'`;

/* A fixture exposition: escaped labels, a label holding markup, comments,
 * a histogram with +Inf and NaN, and a counter that grows at every scrape
 * (alpha 3, beta 1 attempts per scrape: a 75 / 25 share). */
function fixture(n) {
    return [
        '# HELP switchyard_breaker_state 0 closed, 1 half_open, 2 open',
        '# TYPE switchyard_breaker_state gauge',
        'switchyard_breaker_state{deployment="alpha",provider="p-alpha"} 0',
        'switchyard_breaker_state{deployment="beta",provider="p\\"b\\\\e\\nta"} 2',
        'switchyard_breaker_state{deployment="<img src=x id=xss>",provider="evil"} 1',
        'switchyard_deployment_latency_seconds{deployment="alpha",provider="p-alpha",metric="total",quantile="0.5"} 0.125',
        'switchyard_deployment_latency_seconds{deployment="alpha",provider="p-alpha",metric="total",quantile="0.99"} 1.5e0',
        'switchyard_deployment_latency_seconds{deployment="alpha",provider="p-alpha",metric="ttft",quantile="0.5"} 0.03',
        'switchyard_deployment_latency_seconds{deployment="beta",provider="p\\"b\\\\e\\nta",metric="total",quantile="0.5"} NaN',
        'switchyard_deployment_error_ratio{deployment="alpha",provider="p-alpha"} 0.25',
        'switchyard_deployment_window_samples{deployment="alpha",provider="p-alpha"} 40',
        '# TYPE switchyard_attempts_total counter',
        `switchyard_attempts_total{group="g",deployment="alpha",provider="p-alpha",outcome="ok"} ${3 * n}`,
        `switchyard_attempts_total{group="g",deployment="beta",provider="p-beta",outcome="error"} ${n}`,
        'gen_ai_server_request_duration_seconds_bucket{deployment="alpha",le="+Inf"} 7',
        'gen_ai_server_request_duration_seconds_sum{deployment="alpha"} NaN',
        'switchyard_cost_microdollars_total{key="k1",team="t1",group="g",deployment="alpha"} 1500',
        'switchyard_cost_microdollars_total{key="k1",team="t1",group="g",deployment="beta"} 500',
        'switchyard_cost_microdollars_total{key="",team="",group="g",deployment="alpha"} 10',
        /* Valid key names that are also names of Object.prototype. */
        'switchyard_cost_microdollars_total{key="__proto__",team="constructor",group="g2",deployment="alpha"} 300',
        'switchyard_baseline_cost_microdollars_total{key="__proto__",team="constructor",group="g2"} 900',
        'switchyard_baseline_cost_microdollars_total{key="k1",team="t1",group="g"} 4000',
        'switchyard_budget_remaining_microdollars{key="k1"} 7000000',
        'switchyard_quota_used{kind="caller_key",name="k1",unit="requests"} 3',
        'switchyard_quota_limit{kind="caller_key",name="k1",unit="requests"} 60',
        'this line is not valid {',
        'switchyard_redis_up 1',
        'switchyard_requests_in_flight 2 1700000000000',
        '',
    ].join('\n');
}

/* Values of the deployments table, by deployment and field. */
const READ_TABLE = `(() => {
    const out = {};
    for (const tr of document.querySelectorAll('#deployments tbody tr')) {
        const d = {};
        for (const td of tr.cells) {
            const f = td.getAttribute('data-field');
            d[f] = td.hasAttribute('data-value') ? td.getAttribute('data-value') : td.textContent;
            if (f === 'breaker') d.breaker = td.getAttribute('data-state');
        }
        out[tr.getAttribute('data-deployment')] = d;
    }
    return out;
})()`;

describe('the dashboard', { skip: SKIP }, () => {
    let redisDir;
    let redis;
    let stack;
    let browser;
    let page;
    let dir;

    before(async () => {
        dir = h.makeTmpDir('dash');
        redisDir = h.makeTmpDir('redis');
        redis = new h.Redis(redisDir);
        await redis.start();
        stack = new h.Stack({
            tag: 'dash',
            config: (mockPort) => config(mockPort, redis.url),
            env: { SY_T_DASH_ADMIN: ADMIN, SY_T_DASH_ALICE: KEYS.alice, SY_T_DASH_BOB: KEYS.bob },
        });
        await stack.start();
        browser = await Browser.launch({ dir });
        page = await browser.newPage();
    });

    after(async () => {
        if (page && page.console.length) {
            process.stderr.write(`dashboard: page log:\n  ${page.console.join('\n  ')}\n`);
        }
        if (browser) await browser.close();
        if (stack) await stack.stop();
        if (redis) await redis.stop();
        if (redisDir) h.removeTmpDir(redisDir);
        if (dir) h.removeTmpDir(dir);
    });

    test('GET /dashboard: the embedded page with a strict CSP matching its inline code', async () => {
        const r = await h.request(stack.base('lighttpd'), { path: '/dashboard' });
        assert.equal(r.status, 200, r.body.slice(0, 200));
        assert.equal(r.headers['content-type'], 'text/html; charset=utf-8');
        assert.equal(r.headers['cache-control'], 'no-store');
        assert.equal(r.headers['x-content-type-options'], 'nosniff');
        const csp = r.headers['content-security-policy'];
        assert.match(csp, /default-src 'none'/);
        assert.match(csp, /connect-src 'self'/);
        assert.ok(csp.includes(`script-src ${sha(inline(r.body, 'script'))}`), csp);
        assert.ok(csp.includes(`style-src ${sha(inline(r.body, 'style'))}`), csp);
        assert.doesNotMatch(csp, /unsafe/);
        /* Nothing absolute: every fetch and link is relative to the page. */
        assert.doesNotMatch(r.body, /(src|href)="(\/|https?:)/);
        assert.doesNotMatch(r.body, /fetch\(['"]\//);
        const post = await h.request(stack.base('lighttpd'), { method: 'POST', path: '/dashboard', body: {} });
        assert.equal(post.status, 405);
    });

    test('under a prefix, against fixture metrics: key prompt, Bearer, parsing, no markup from labels', async () => {
        const real = await h.request(stack.base('lighttpd'), { path: '/dashboard' });
        const seen = [];
        let scrapes = 0;
        const srv = http.createServer((req, res) => {
            seen.push({ url: req.url, auth: req.headers.authorization || '' });
            if (req.url === '/sub/dashboard') {
                res.writeHead(200, {
                    'Content-Type': real.headers['content-type'],
                    'Content-Security-Policy': real.headers['content-security-policy'],
                });
                res.end(real.body);
            } else if (req.url === '/sub/metrics') {
                if (req.headers.authorization !== `Bearer ${ADMIN}`) {
                    res.writeHead(401, { 'Content-Type': 'application/json' });
                    res.end('{"error":{"message":"admin key needed"}}');
                    return;
                }
                scrapes++;
                res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' });
                res.end(fixture(scrapes));
            } else {
                res.writeHead(404);
                res.end();
            }
        });
        await new Promise((r) => srv.listen(0, '127.0.0.1', r));
        try {
            const base = `http://127.0.0.1:${srv.address().port}`;
            await page.navigate(`${base}/sub/dashboard`);
            await page.waitFor('the key prompt',
                `!document.getElementById('auth').classList.contains('hidden')`);
            assert.equal(await page.evaluate(`document.getElementById('status').dataset.state`), 'auth');
            await page.evaluate(`(() => {
                document.getElementById('admin-key').value = ${JSON.stringify(ADMIN)};
                document.getElementById('auth-form').requestSubmit();
            })()`);
            await page.waitFor('three scrapes', `Number(document.getElementById('updated').dataset.polls) >= 3`);
            assert.equal(await page.evaluate(`sessionStorage.getItem('switchyard.adminKey')`), ADMIN);
            assert.ok(seen.some((s) => s.url === '/sub/metrics' && s.auth === `Bearer ${ADMIN}`));
            assert.ok(!seen.some((s) => s.url === '/metrics'), 'fetched /metrics, not relative');
            assert.ok(await page.evaluate(`document.getElementById('auth').classList.contains('hidden')`));

            const t = await page.evaluate(READ_TABLE);
            assert.deepEqual(Object.keys(t).sort(), ['<img src=x id=xss>', 'alpha', 'beta']);
            assert.equal(t.alpha.breaker, 'closed');
            assert.equal(t.beta.breaker, 'open');
            assert.equal(t['<img src=x id=xss>'].breaker, 'half-open');
            assert.equal(t.alpha.p50, '0.125');
            assert.equal(t.alpha.p99, '1.5');
            assert.equal(t.alpha.ttft_p50, '0.03');
            assert.equal(t.alpha.error_rate, '0.25');
            assert.equal(t.beta.p50, '', 'NaN shows as no value');
            assert.equal(t.beta.provider, 'p"b\\e\nta');
            assert.equal(Number(t.alpha.share), 0.75);
            /* The markup label is text: no element was made from it. */
            assert.equal(await page.evaluate(`document.querySelectorAll('img, #xss').length`), 0);

            const spend = await page.evaluate(`(() => {
                const r = document.querySelector('#spend-key tr[data-key="k1"]');
                const v = (f) => r.querySelector('[data-field="' + f + '"]').getAttribute('data-value');
                return { cost: v('cost'), baseline: v('baseline'), saved: v('saved'), budget: v('budget'),
                         team: !!document.querySelector('#spend-team tr[data-team="t1"]'),
                         group: document.querySelector('#spend-group tr[data-group="g"] [data-field="cost"]').dataset.value };
            })()`);
            assert.deepEqual(spend, { cost: '2000', baseline: '4000', saved: '2000', budget: '7000000', team: true, group: '2010' });
            const proto = await page.evaluate(`(() => {
                const v = (sel) => { const e = document.querySelector(sel); return e ? e.dataset.value : null; };
                return { key: v('#spend-key tr[data-key="__proto__"] [data-field="cost"]'),
                         base: v('#spend-key tr[data-key="__proto__"] [data-field="baseline"]'),
                         team: v('#spend-team tr[data-team="constructor"] [data-field="cost"]') };
            })()`);
            assert.deepEqual(proto, { key: '300', base: '900', team: '300' });
            const quota = await page.evaluate(`(() => {
                const r = document.querySelector('#quotas tr[data-kind="caller_key"][data-name="k1"][data-unit="requests"]');
                return r && [r.querySelector('[data-field="used"]').dataset.value, r.querySelector('[data-field="limit"]').dataset.value];
            })()`);
            assert.deepEqual(quota, ['3', '60']);
            assert.equal(await page.evaluate(`document.getElementById('redis').dataset.state`), 'up');
            assert.equal(await page.evaluate(`document.getElementById('in-flight').dataset.value`), '2');
            assert.ok(await page.evaluate(`document.querySelectorAll('#chart rect[data-deployment="alpha"]').length`) >= 1);
            assert.match(await page.evaluate(`document.getElementById('status').textContent`), /1 bad line/);
            const csp = page.console.filter((l) => /Content Security Policy|Refused/.test(l));
            assert.deepEqual(csp, [], 'CSP violations');
            await page.screenshot(path.join(SHOTS, 'fixture.png'));
        } finally {
            srv.close();
        }
    });

    /* 'n' chat requests, 'conc' at a time, from alice and bob in turn. */
    async function traffic(n, conc = 4) {
        const base = stack.base('lighttpd');
        let next = 0;
        const statuses = [];
        const worker = async () => {
            while (next < n) {
                const i = next++;
                const key = i % 2 ? KEYS.bob : KEYS.alice;
                const r = await h.chat(base, {
                    model: 'g-dash', text: `dashboard ${i}`, timeout: 15000,
                    headers: { Authorization: `Bearer ${key}` },
                });
                statuses.push(r.status);
            }
        };
        await Promise.all(Array.from({ length: conc }, worker));
        return statuses;
    }

    /* Load the page from the gateway; give the admin key if asked. */
    async function openDashboard() {
        await page.navigate(`${stack.base('lighttpd')}/dashboard`);
        await page.waitFor('a scrape or the key prompt', `Number(document.getElementById('updated').dataset.polls) > 0 ||
            !document.getElementById('auth').classList.contains('hidden')`);
        if (await page.evaluate(`!document.getElementById('auth').classList.contains('hidden')`)) {
            await page.evaluate(`(() => {
                document.getElementById('admin-key').value = ${JSON.stringify(ADMIN)};
                document.getElementById('auth-form').requestSubmit();
            })()`);
        }
    }

    const num = (v) => (v === '' || v === undefined ? NaN : Number(v));

    test('against the real /metrics: numbers, then a slowed and a failed deployment', async () => {
        const first = await traffic(30);
        assert.ok(first.every((s) => s === 200), `statuses ${first}`);
        await openDashboard();
        /* The share is the attempts between two of the page's polls, so
         * traffic goes on until the page shows it: on a loaded machine the
         * browser's first poll can come after the first traffic ended. */
        let showing = false;
        const more = [];
        const feed = (async () => {
            while (!showing) {
                more.push(...await traffic(3, 3));
                await h.sleep(200);
            }
        })();
        const deps = ['d-fail', 'd-fast', 'd-slow'];
        let before;
        try {
            before = await page.waitFor('latency and share of every deployment', `(() => {
                const t = ${READ_TABLE};
                return ${JSON.stringify(deps)}.every((d) => t[d] && t[d].p50 !== '' && t[d].breaker === 'closed' &&
                    Number(t[d].share) > 0) && document.querySelectorAll('#chart rect').length > 0 && t;
            })()`, 30000, `({ table: ${READ_TABLE}, rects: document.querySelectorAll('#chart rect').length,
                              status: document.getElementById('status').textContent })`);
        } finally {
            showing = true;
            await feed;
        }
        assert.ok(more.every((s) => s === 200), `statuses ${more}`);
        for (const d of deps) {
            assert.ok(num(before[d].p50) > 0 && num(before[d].p50) < 0.3, `${d} p50 ${before[d].p50}`);
            assert.ok(num(before[d].p99) >= num(before[d].p50), `${d} p99 ${before[d].p99}`);
            assert.ok(num(before[d].share) > 0, `${d} share ${before[d].share}`);
            assert.equal(before[d].provider, `p-${d}`);
        }
        assert.equal(await page.evaluate(`document.getElementById('redis').dataset.state`), 'up');
        const spend = await page.evaluate(`(() => {
            const v = (sel) => { const e = document.querySelector(sel); return e ? e.dataset.value : null; };
            return { alice: v('#spend-key tr[data-key="alice"] [data-field="cost"]'),
                     aliceBase: v('#spend-key tr[data-key="alice"] [data-field="baseline"]'),
                     red: v('#spend-team tr[data-team="red"] [data-field="cost"]'),
                     blue: v('#spend-team tr[data-team="blue"] [data-field="cost"]'),
                     bob: v('#spend-key tr[data-key="bob"] [data-field="cost"]'),
                     group: v('#spend-group tr[data-group="g-dash"] [data-field="cost"]'),
                     quota: v('#quotas tr[data-kind="caller_key"][data-name="alice"][data-unit="requests"] [data-field="limit"]') };
        })()`);
        assert.ok(num(spend.alice) > 0 && num(spend.aliceBase) > 0, JSON.stringify(spend));
        assert.ok(num(spend.red) > 0 && num(spend.blue) > 0, JSON.stringify(spend));
        assert.equal(num(spend.group), num(spend.alice) + num(spend.bob), JSON.stringify(spend));
        assert.equal(spend.quota, '5000', JSON.stringify(spend));
        await page.screenshot(path.join(SHOTS, 'before.png'));

        /* d-slow answers after 700 ms, d-fail with 500s until its breaker
         * (3 failures in a row) opens; traffic goes on until the page
         * shows both. */
        await stack.mock.fault('d-slow', { delay_ms: 700 });
        await stack.mock.fault('d-fail', { status: 500 });
        const until = Date.now() + 45000;
        let after;
        for (;;) {
            const st = await traffic(12, 6);
            assert.ok(st.every((s) => s === 200), `statuses ${st}`); /* failover hides d-fail */
            await h.sleep(3000); /* a refresh and a poll */
            after = await page.evaluate(READ_TABLE);
            if (after['d-fail'].breaker === 'open' && num(after['d-slow'].p50) >= 0.6) break;
            assert.ok(Date.now() < until, `the page did not change: ${JSON.stringify(after)}`);
        }
        assert.ok(num(after['d-fail'].error_rate) > 0, `d-fail errors ${after['d-fail'].error_rate}`);
        assert.equal(after['d-fast'].breaker, 'closed');
        assert.ok(num(after['d-fast'].p50) < 0.3, `d-fast p50 ${after['d-fast'].p50}`);
        const badge = await page.evaluate(`(() => {
            const b = document.querySelector('#deployments tr[data-deployment="d-fail"] [data-field="breaker"] .badge');
            return { text: b.textContent, color: getComputedStyle(b).backgroundColor };
        })()`);
        assert.equal(badge.text, 'open');
        assert.equal(badge.color, 'rgb(207, 34, 46)', 'an open breaker is red');
        await page.screenshot(path.join(SHOTS, 'after.png'));
        const csp = page.console.filter((l) => /Content Security Policy|Refused/.test(l));
        assert.deepEqual(csp, [], 'CSP violations');
    });
});
