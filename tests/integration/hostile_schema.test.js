/*
 * hostile_schema.test.js - hostile JSON Schemas from callers, through
 * lighttpd to the gateway (issue 10, items 1-3). Schemas or patterns the
 * gateway cannot enforce are refused with a 400 naming the parameter and
 * the JSON pointer before any provider call (the mock counts 0 requests);
 * patterns that compile but would cost too much on the answer end the
 * request with a 400 "too much regex work" after one provider call, with
 * no failover to the group's second deployment. Every request is answered
 * promptly and the worker processes are the same ones afterwards (the
 * old build lost a worker to SIGSEGV in glibc regcomp). The CPU time and
 * peak RSS of the worker are printed per case (SY_TEST_VERBOSE=1 or the
 * node:test diagnostics).
 * SPDX-License-Identifier: MIT
 */
'use strict';

const { describe, it, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const h = require('./harness');

const CLK_TCK = 100;
const WALL_MS = 5000;

const PRICE = { input_per_mtok: 2.5, output_per_mtok: 10 };

const stack = new h.Stack({
    tag: 'hostile',
    servers: ['lighttpd'],
    config: (port) => {
        const cfg = h.gatewayConfig(port, {
            deployments: { a: {}, b: {} },
            groups: { 'g': { deployments: ['a', 'b'], contract: { on_violation: 'next' } } },
            server: { processes: 2, threads: 2, usage_log: require('node:path').join(stack.dir, 'usage.log') },
        });
        for (const d of Object.values(cfg.deployments)) d.price = { ...PRICE };
        return cfg;
    },
});

/* The usage-log line of request 'id' (the log is written before the
 * answer is complete, but give it a moment). */
async function usageLine(id) {
    const file = require('node:path').join(stack.dir, 'usage.log');
    for (let i = 0; i < 50; i++) {
        const lines = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n') : [];
        const hit = lines.filter(Boolean).map((l) => JSON.parse(l)).find((r) => r.request_id === id);
        if (hit) return hit;
        await h.sleep(20);
    }
    return null;
}

before(() => stack.start(), { timeout: 60000 });
after(() => stack.stop(), { timeout: 30000 });

/* utime + stime in ms and the peak RSS (VmHWM) in KiB of 'pid'. */
function usage(pid) {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cpuMs = ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK;
    const st = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /VmHWM:\s+(\d+) kB/.exec(st);
    return { cpuMs, hwmKiB: m ? Number(m[1]) : 0 };
}

function usageAll(pids) {
    return pids.map((p) => ({ pid: p, ...usage(p) }));
}

function schemaBody(schema, directive) {
    return h.chatBody({
        model: 'g', text: 'Answer as JSON.', directive,
        extra: { response_format: { type: 'json_schema', json_schema: { name: 'x', schema } } },
    });
}

function toolBody(parameters, directive) {
    return h.chatBody({
        model: 'g', text: 'Call the tool.', directive,
        extra: { tools: [{ type: 'function', function: { name: 'f', parameters } }] },
    });
}

async function post(body) {
    return h.request(stack.base('lighttpd'), {
        method: 'POST', path: '/v1/chat/completions', body, timeout: 20000,
    });
}

async function calls() {
    const st = await stack.mock.stats();
    return { a: st.a ? st.a.requests : 0, b: st.b ? st.b.requests : 0 };
}

const nested = `${'('.repeat(1000)}a${')'.repeat(1000)}`;

/* Refused before routing: [name, body, param, message part]. */
const REFUSED = [
    ['lookahead flag group', schemaBody({ type: 'string', pattern: '(?i)abc' }),
        'response_format.json_schema.schema', '#/pattern: unsupported pattern'],
    ['unbounded lookbehind', schemaBody({ properties: { a: { pattern: '(?<=a+)b' } } }),
        'response_format.json_schema.schema', '#/properties/a/pattern'],
    ['1000 nested groups', schemaBody({ pattern: nested }),
        'response_format.json_schema.schema', 'unsupported pattern'],
    ['possessive in patternProperties', schemaBody({ patternProperties: { 'a++': {} } }),
        'response_format.json_schema.schema', '#/patternProperties/a++'],
    ['verb in propertyNames', schemaBody({ propertyNames: { pattern: '(*LIMIT_MATCH=1)a' } }),
        'response_format.json_schema.schema', '#/propertyNames/pattern'],
    ['unsupported keyword', schemaBody({ type: 'object', unevaluatedProperties: false }),
        'response_format.json_schema.schema', '#/unevaluatedProperties: unsupported keyword'],
    ['pattern too long', schemaBody({ pattern: 'a'.repeat(1025) }),
        'response_format.json_schema.schema', 'longer than 1024'],
    ['tool parameters', toolBody({ type: 'object', properties: { q: { pattern: '\\Z' } } }),
        'tools[0].function.parameters', '#/properties/q/pattern'],
];

/* Compiled, then too costly on the answer: [name, body]. The answers
 * hold the pattern's last required character, so that PCRE2 cannot skip
 * the match. */
const COSTLY = [
    ['((a?){1000}){6}', schemaBody({ type: 'object', properties: { a: { pattern: '((a?){1000}){6}' } } },
        { content: JSON.stringify({ a: 'a'.repeat(30) }) }), 200],
    ['(a{0,1000}){0,19}b x30', schemaBody({ type: 'object', properties: { a: { pattern: '(a{0,1000}){0,19}b' } } },
        { content: JSON.stringify({ a: `${'a'.repeat(30)}cb` }) }), 400],
    ['(a{0,1000}){0,19}b x2000', schemaBody({ type: 'object', properties: { a: { pattern: '(a{0,1000}){0,19}b' } } },
        { content: JSON.stringify({ a: `${'a'.repeat(2000)}cb` }) }), 400],
    ['(.{0,1000}){0,19}\\x01 x30', schemaBody({ type: 'object', properties: { a: { pattern: '(.{0,1000}){0,19}\\x01' } } },
        { content: JSON.stringify({ a: `${'x'.repeat(30)}\n\u0001` }) }), 400],
    ['(.{0,1000}){0,19}\\x01 x2000', schemaBody({ type: 'object', properties: { a: { pattern: '(.{0,1000}){0,19}\\x01' } } },
        { content: JSON.stringify({ a: `${'x'.repeat(2000)}\n\u0001` }) }), 400],
    ['(a|a)*b in patternProperties', schemaBody({ type: 'object', patternProperties: { '(a|a)*b': {} } },
        { content: JSON.stringify({ [`${'a'.repeat(40)}cb`]: 1 }) }), 400],
    ['(a+)+$ in tool parameters', toolBody({ type: 'object', properties: { q: { pattern: '(a+)+$' } } },
        { tool_arguments: JSON.stringify({ q: `${'a'.repeat(40)}!` }) }), 400],
];

describe('hostile schemas behind lighttpd', { skip: h.missing('lighttpd') || false }, () => {
    let workers;
    const figures = [];
    before(() => { workers = stack.workers(); });
    beforeEach(() => stack.mock.reset());

    for (const [name, body, param, msg] of REFUSED) {
        it(`refuses ${name} before any provider call`, async () => {
            const r = await post(body);
            assert.equal(r.status, 400, `${r.status} ${r.body}`);
            assert.equal(r.json.error.type, 'invalid_request_error', r.body);
            assert.equal(r.json.error.param, param, r.body);
            assert.ok(r.json.error.message.includes(msg), r.body);
            assert.ok(r.tEnd < WALL_MS, `${r.tEnd} ms`);
            assert.deepEqual(await calls(), { a: 0, b: 0 });
        });
    }

    for (const [name, body, status] of COSTLY) {
        it(`answers ${name} promptly, with no failover`, async () => {
            const u0 = usageAll(workers);
            const r = await post(body);
            const u1 = usageAll(workers);
            assert.equal(r.status, status, `${r.status} ${r.body}`);
            if (status === 400) {
                assert.match(r.json.error.message, /too much regex work/, r.body);
                assert.equal(r.json.error.type, 'invalid_request_error', r.body);
            }
            assert.ok(r.tEnd < WALL_MS, `${r.tEnd} ms`);
            /* One provider call: the caller's schema, not deployment a,
             * is at fault, so b is not tried. */
            assert.deepEqual(await calls(), { a: 1, b: 0 });
            /* The call that was made is charged, 400 or not. */
            const line = await usageLine(r.headers['x-request-id']);
            assert.ok(line, `no usage-log line for ${r.headers['x-request-id']}`);
            assert.equal(line.status, status);
            assert.ok(line.cost_micro_usd > 0, JSON.stringify(line));
            const cpu = u1.reduce((s, w, i) => s + w.cpuMs - u0[i].cpuMs, 0);
            const hwm = Math.max(...u1.map((w) => w.hwmKiB));
            figures.push(`${name}: HTTP ${r.status}, ${r.tEnd.toFixed(1)} ms wall, ` +
                `worker CPU ${cpu.toFixed(0)} ms, worker peak RSS ${hwm} KiB`);
        });
    }

    it('a stream whose caller schema spends the regex budget is charged', async () => {
        const body = schemaBody({ type: 'object', properties: { a: { pattern: '(a{0,1000}){0,19}b' } } },
            { content: JSON.stringify({ a: `${'a'.repeat(2000)}cb` }) });
        body.stream = true;
        const r = await post(body);
        assert.equal(r.status, 200, r.body);
        const last = r.events[r.events.length - 1];
        assert.ok(last && last.json && last.json.error, `no error event: ${r.body.slice(-300)}`);
        const line = await usageLine(r.headers['x-request-id']);
        assert.ok(line, 'no usage-log line');
        assert.ok(line.cost_micro_usd > 0, JSON.stringify(line));
    });

    it('the same worker processes are alive, and still answer', async () => {
        assert.deepEqual(stack.workers(), workers);
        for (const p of workers) assert.ok(h.alive(p), `worker ${p} gone`);
        const r = await h.chat(stack.base('lighttpd'), { model: 'g' });
        assert.equal(r.status, 200, r.body);
        for (const f of figures) process.stdout.write(`# ${f}\n`);
    });
});
