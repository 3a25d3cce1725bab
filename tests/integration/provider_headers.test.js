/*
 * provider_headers.test.js - a provider whose reply has a header past
 * libcurl's bound (300 KB): the caller gets the gateway's 502 in its own
 * format, and the message says the reply's headers were too large, not
 * "Out of memory" (which reads as the gateway's own memory running out).
 * The provider is a raw TCP server on 127.0.0.1 in this file.
 * SPDX-License-Identifier: MIT
 */
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const h = require('./harness');

const provider = net.createServer((sock) => {
    sock.on('error', () => {});
    sock.once('data', () => {
        sock.write(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Big: ${'a'.repeat(300000)}\r\n` +
                   'Content-Length: 2\r\n\r\n{}');
        sock.end();
    });
});

let providerPort = 0;
const stack = new h.Stack({
    tag: 'provider-headers',
    mock: false,
    servers: ['lighttpd'],
    config: (mockPort) => h.gatewayConfig(mockPort, {
        deployments: { big: { port: providerPort } },
        groups: { 'g-big': ['big'] },
    }),
});

before(async () => {
    await new Promise((resolve) => provider.listen(0, '127.0.0.1', resolve));
    providerPort = provider.address().port;
    await stack.start();
}, { timeout: 60000 });
after(async () => {
    await stack.stop();
    await new Promise((resolve) => provider.close(resolve));
}, { timeout: 30000 });

describe('a provider reply with an oversized header', () => {
    it('is a 502 that names the headers, on chat and on Messages', async () => {
        const chat = await h.chat(stack.base('lighttpd'), { model: 'g-big' });
        assert.equal(chat.status, 502, chat.body);
        assert.match(chat.json.error.message, /headers are too large/);
        assert.doesNotMatch(chat.json.error.message, /^.*: Out of memory$/);
        const msg = await h.request(stack.base('lighttpd'), {
            method: 'POST', path: '/v1/messages',
            headers: { 'x-api-key': 'anything', 'anthropic-version': '2023-06-01' },
            body: { model: 'g-big', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] },
        });
        assert.equal(msg.status, 502, msg.body);
        assert.equal(msg.json.type, 'error');
        assert.match(msg.json.error.message, /headers are too large/);
    });
});
