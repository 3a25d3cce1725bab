/*
 * mount_prefix.test.js - the root mount of conf/lighttpd.conf
 * (fastcgi.server "/") must not take a made-up first segment for a
 * mount. Without "fix-root-scriptname" lighttpd splits "/x/admin/keys"
 * into SCRIPT_NAME "/x" + PATH_INFO "/admin/keys", which is what a
 * gateway really mounted at /x receives: every one-segment prefix then
 * reached every route ("/x/admin/keys", "/anything/metrics",
 * "/x/dashboard" answered 200), past any lighttpd rule on ^/admin or
 * ^/metrics. The shipped config sets the option; core/api/mount.c takes
 * the empty SCRIPT_NAME it brings for a root mount (REQUEST_URI).
 * See docs/deployment.md, "Where the gateway is mounted".
 * SPDX-License-Identifier: MIT
 */
'use strict';

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const h = require('./harness');

const SKIP = h.missing('lighttpd') || false;
const ADMIN = 'mount-prefix-admin-key-0123456789';

/* node's http.request sends the path as it is (no URL normalisation). */
function raw(port, p, headers = {}) {
    return new Promise((resolve) => {
        const req = http.request({ host: '127.0.0.1', port, path: p, headers, agent: false }, (r) => {
            let b = '';
            r.setEncoding('utf8');
            r.on('data', (c) => { b += c; });
            r.on('end', () => resolve({ status: r.statusCode, body: b }));
        });
        req.on('error', (e) => resolve({ status: 0, body: String(e) }));
        req.end();
    });
}

describe('lighttpd root mount: a made-up first segment is not a mount', { skip: SKIP }, () => {
    let S;
    before(async () => {
        S = new h.Stack({ tag: 'mountprefix', env: { SY_T_MP_ADMIN: ADMIN },
            config: (mp) => h.gatewayConfig(mp, { deployments: { basic: {} },
                groups: { 'g-basic': ['basic'] },
                server: { processes: 1, threads: 4, admin_key_env: 'SY_T_MP_ADMIN' } }) });
        await S.start();
    });
    after(async () => { if (S) await S.stop(); });

    test('the routes answer at the root', async () => {
        const port = S.web.lighttpd.port;
        const auth = { Authorization: `Bearer ${ADMIN}` };
        for (const p of ['/healthz', '/metrics', '/v1/models', '/v1/models/g-basic']) {
            const r = await raw(port, p, auth);
            assert.equal(r.status, 200, `${p}: ${r.status} ${r.body.slice(0, 120)}`);
        }
        /* the admin route is there (no Redis here: 503, not 404) */
        const a = await raw(port, '/admin/keys', auth);
        assert.equal(a.status, 503, a.body.slice(0, 200));
    });

    test('/x/admin/keys, /anything/metrics, /x/dashboard ... get the JSON 404', async () => {
        const port = S.web.lighttpd.port;
        const auth = { Authorization: `Bearer ${ADMIN}` };
        for (const p of ['/x/admin/keys', '/x/admin/keys/k', '/anything/metrics', '/x/dashboard',
            '/x/healthz', '/x/v1/models', '/llm/v1/chat/completions', '/metrics/../admin/keys']) {
            const r = await raw(port, p, auth);
            assert.equal(r.status, 404, `${p} reached a gateway route: ${r.status} ${r.body.slice(0, 120)}`);
            assert.match(r.body, /"error"/, `${p}: not the gateway's JSON 404`);
        }
    });
});
