/*
 * scripted_provider.js - an OpenAI-compatible provider on 127.0.0.1 that
 * streams tool calls piece by piece as a test scripts them, for what the
 * mock does not do (it streams its calls one after the other): parallel
 * calls whose argument pieces interleave, and providers that overflow
 * what the gateway holds. The last user message of a request names its
 * script.
 *
 * A script is an array of pieces [index, {id, name} or null, arguments]
 * (sent one event each, 5 ms apart, then the finish, the usage and
 * [DONE]), or a function (res, provider) that writes the reply itself.
 * SPDX-License-Identifier: MIT
 */
'use strict';

const assert = require('node:assert/strict');
const http = require('node:http');
const h = require('./harness');

/* One chat.completion.chunk event with 'delta' and 'finish'. */
function toolChunk(delta, finish = null) {
    return `data: ${JSON.stringify({
        id: 'chatcmpl-fake', object: 'chat.completion.chunk', created: 1,
        model: 'fake-1', choices: [{ index: 0, delta, finish_reason: finish }],
    })}\n\n`;
}

/* The events of a script of pieces: role, one event per piece, the
 * finish, a usage-only chunk and [DONE]. */
function toolEvents(pieces) {
    const out = [toolChunk({ role: 'assistant', content: null })];
    for (const [index, head, args] of pieces) {
        const tc = { index, function: { arguments: args } };
        if (head) {
            tc.id = head.id;
            tc.type = 'function';
            tc.function.name = head.name;
        }
        out.push(toolChunk({ tool_calls: [tc] }));
    }
    out.push(toolChunk({}, 'tool_calls'));
    out.push(`data: ${JSON.stringify({
        id: 'chatcmpl-fake', object: 'chat.completion.chunk', created: 1,
        model: 'fake-1', choices: [],
        usage: { prompt_tokens: 20, completion_tokens: 10, total_tokens: 30 },
    })}\n\n`);
    out.push('data: [DONE]\n\n');
    return out;
}

/* The script a request names: the text of its last message. */
function scriptName(body) {
    try {
        const msgs = JSON.parse(body).messages;
        const last = msgs[msgs.length - 1].content;
        return typeof last === 'string' ? last : last.map((p) => p.text).join('');
    } catch (e) {
        return '';
    }
}

class ScriptedProvider {
    constructor(scripts) {
        this.scripts = scripts;
        this.port = 0;
        /* The replies in flight ('res' of each), and when each one's
         * connection closed (ms since its start; -1 while open). */
        this.replies = [];
        this.server = http.createServer((req, res) => this.serve(req, res));
    }

    serve(req, res) {
        let body = '';
        req.on('data', (d) => { body += d; });
        req.on('end', () => {
            const name = scriptName(body);
            const script = this.scripts[name];
            if (!script) {
                res.writeHead(400, { 'Content-Type': 'application/json' });
                res.end(JSON.stringify({ error: { message: `no script ${name}` } }));
                return;
            }
            const entry = { name, start: Date.now(), closedAfterMs: -1 };
            this.replies.push(entry);
            res.on('close', () => { entry.closedAfterMs = Date.now() - entry.start; });
            res.writeHead(200, { 'Content-Type': 'text/event-stream' });
            if (typeof script === 'function') {
                script(res, this);
                return;
            }
            const parts = toolEvents(script);
            const next = () => {
                if (res.destroyed) return;
                if (parts.length === 0) { res.end(); return; }
                res.write(parts.shift());
                setTimeout(next, 5);
            };
            next();
        });
    }

    async start() {
        await new Promise((resolve) => this.server.listen(0, '127.0.0.1', resolve));
        this.port = this.server.address().port;
    }

    async stop() {
        this.server.closeAllConnections();
        await new Promise((resolve) => this.server.close(resolve));
    }
}

/*
 * A script for a provider that opens 'calls' parallel calls whose
 * arguments never become whole, in one write, then holds the reply
 * open for 'holdMs' without a finish: a gateway that must hold each
 * interleaved call runs out of room on the way and should cut the
 * transfer at once, not read on until the provider ends.
 */
function overflowScript(calls, holdMs) {
    return (res) => {
        let text = toolChunk({ role: 'assistant', content: null });
        for (let i = 0; i < calls; i++) {
            text += toolChunk({ tool_calls: [{ index: i, id: `call_${i}`, type: 'function',
                                               function: { name: 'get_weather', arguments: '{"city":' } }] });
        }
        res.write(text);
        const t = setTimeout(() => res.end(), holdMs);
        res.on('close', () => clearTimeout(t));
    };
}

/*
 * What a caller of an overflowing stream ('res', answered in 'tookMs')
 * must have seen, and the gateway must have done: the stream's one error
 * event ('message' of it matching 'why'), followed by none but the
 * surface's closing event 'last' (the Responses API's response.failed)
 * if any, the provider's
 * transfer cut long before the provider would have ended it ('holdMs'),
 * and the attempt in the usage log ('logFile') as the failure the
 * caller saw, not a success.
 */
async function assertOverflowEnded(provider, res, { tookMs, holdMs, logFile, why, message,
                                                    last: lastType = 'error' }) {
    assert.equal(res.status, 200, res.body.slice(0, 300));
    const errors = res.events.filter((e) => e.json && e.json.type === 'error');
    assert.equal(errors.length, 1, `error events: ${errors.length}`);
    const last = res.events[res.events.length - 1];
    assert.equal(last.json && last.json.type, lastType, 'events after the error event');
    assert.match(message(errors[0].json), why);
    assert.ok(tookMs < holdMs / 2, `the caller waited ${tookMs} ms`);
    const reply = provider.replies.find((x) => x.name === 'overflow');
    assert.ok(reply, 'the provider got no overflow request');
    await h.waitFor('the provider transfer to close', () => reply.closedAfterMs >= 0, 5000);
    assert.ok(reply.closedAfterMs < holdMs / 2,
              `the gateway read the provider on for ${reply.closedAfterMs} ms`);
    const id = res.headers['x-request-id'];
    let lines = [];
    for (let i = 0; i < 50 && lines.length === 0; i++) {
        lines = h.readUsageLog(logFile).filter((l) => l.request_id === id);
        if (lines.length === 0) await h.sleep(100);
    }
    assert.equal(lines.length, 1, `usage lines of ${id}: ${lines.length}`);
    assert.notEqual(lines[0].outcome, 'ok');
    assert.equal(lines[0].status, 200, 'the status the caller got');
    assert.equal(lines[0].error, 'SY_ETRANSLATE', 'the request failed after its 200');
    assert.equal(lines[0].outcome, 'SY_ETRANSLATE');
}

module.exports = { ScriptedProvider, toolChunk, toolEvents, overflowScript, assertOverflowEnded };
