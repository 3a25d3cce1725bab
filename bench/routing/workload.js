/*
 * workload.js - the seeded request mix of the routing benchmark: short
 * chats, long generations and agent sessions that resend a growing prefix
 * (with an X-Claude-Code-Session-Id header), streamed or not. Each caller
 * has its own PRNG, so the same seed gives every strategy group the same
 * sequence of requests.
 * Node 18 or later, no npm packages.
 * SPDX-License-Identifier: MIT
 */
'use strict';

/* mulberry32: a small seeded PRNG, [0, 1). */
function rng(seed) {
    let a = seed >>> 0;
    return () => {
        a = (a + 0x6d2b79f5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

const WORDS = ('route latency token stream cache prefix deploy gateway window ' +
    'probe shift tail budget quota agent session model reply prompt ' +
    'queue shard redis fastcgi worker thread socket').split(' ');

function words(r, n) {
    const out = [];
    for (let i = 0; i < n; i++) out.push(WORDS[Math.floor(r() * WORDS.length)]);
    return out.join(' ');
}

/* The shared agent preamble (about 500 tokens: below the mock's 1024-token
 * cache minimum on its own, so a hit needs the session's own prefix). */
const PREAMBLE = `You are a coding agent. ${words(rng(7), 330)}`;

/* Output lengths in tokens (words) per kind. */
const OUT = { short: [8, 24], long: [120, 200], agent: [30, 60] };

/*
 * One caller's request stream: next() returns {kind, stream, body,
 * headers, sessionTurn} for the next request. An agent session keeps its
 * messages and grows by one exchange per turn (the mock's reply and a
 * new user turn), 4 to 10 turns, then a new session starts.
 */
class Caller {
    constructor(seed, mix, id) {
        this.r = rng(seed);
        this.mix = mix;
        this.id = id;
        this.session = null;
        this.sessions = 0;
    }

    kind() {
        const x = this.r();
        if (x < this.mix.short) return 'short';
        if (x < this.mix.short + this.mix.long) return 'long';
        return 'agent';
    }

    directive(kind) {
        const [lo, hi] = OUT[kind];
        const n = lo + Math.floor(this.r() * (hi - lo + 1));
        return { n, text: `[[mock ${JSON.stringify({ content: words(this.r, n), chunks: n })}]]` };
    }

    agentTurn() {
        const s = this.session;
        if (!s || s.turn >= s.turns) {
            this.sessions++;
            const sid = `sess-${this.id}-${this.sessions}`;
            this.session = {
                id: sid, turn: 0, turns: 4 + Math.floor(this.r() * 7),
                messages: [
                    { role: 'system', content: PREAMBLE },
                    /* the session's own context: about 1,500 tokens */
                    { role: 'user', content: `Session ${sid}. Files: ${words(this.r, 1000)}` },
                    { role: 'assistant', content: 'Read them.' },
                ],
            };
        }
        const cur = this.session;
        cur.turn++;
        const d = this.directive('agent');
        cur.messages.push({ role: 'user', content: `Turn ${cur.turn}: ${words(this.r, 80)} ${d.text}` });
        return { messages: cur.messages.slice(), sid: cur.id, n: d.n };
    }

    /* The mock's answer to the last turn goes into the session, so the next
     * turn resends it (as a client resends the conversation). */
    answered(text) {
        if (this.lastAgent && this.session) {
            this.session.messages.push({ role: 'assistant', content: text || 'ok' });
        }
    }

    next(model) {
        const kind = this.kind();
        this.lastAgent = kind === 'agent';
        const stream = this.r() < this.mix.stream_share;
        const headers = {};
        let messages;
        let n;
        if (kind === 'agent') {
            const t = this.agentTurn();
            messages = t.messages;
            n = t.n;
            headers['X-Claude-Code-Session-Id'] = t.sid;
        } else {
            const d = this.directive(kind);
            n = d.n;
            const ask = kind === 'short' ? words(this.r, 30) : words(this.r, 120);
            messages = [{ role: 'user', content: `${ask} ${d.text}` }];
        }
        const body = { model, messages, max_tokens: n + 16 };
        if (stream) {
            body.stream = true;
            body.stream_options = { include_usage: true };
        }
        return { kind, stream, body, headers, outTokens: n };
    }
}

module.exports = { rng, Caller, words };
