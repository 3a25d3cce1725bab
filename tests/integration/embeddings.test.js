/*
 * embeddings.test.js - POST /v1/embeddings over real HTTP through
 * lighttpd with the official openai SDK (client.embeddings.create),
 * against the mock provider in both dialects: floats with dimensions;
 * the SDK's default (base64, decoded by the SDK) giving the same
 * vectors; a Gemini deployment (batchEmbedContents, one request per
 * input, its usage estimated and marked); failover from a failing
 * OpenAI deployment to the Gemini one; token arrays (served by OpenAI,
 * refused for Gemini); a chat-only group refused with a 400 naming its
 * deployment; and the provider always asked for floats.
 * SPDX-License-Identifier: MIT
 */
'use strict';

const { describe, it, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const h = require('./harness');

const CLIENT_MODULES = path.join(h.ROOT, 'tests', 'client', 'node_modules');

function optionalRequire(name) {
    try {
        return require(path.join(CLIENT_MODULES, name));
    } catch (e) {
        return null;
    }
}
const openaiPkg = optionalRequire('openai');
const NO_OPENAI = openaiPkg ? false : 'openai SDK missing: run npm ci in tests/client';

const stack = new h.Stack({
    tag: 'embed',
    servers: ['lighttpd'],
    config: (mockPort) => {
        const cfg = h.gatewayConfig(mockPort, {
            deployments: {
                eo: { model: 'text-embedding-3-small' },
                eg: { type: 'gemini', model: 'gemini-embedding-001' },
                ec: { model: 'gpt-mock-1' },
            },
            groups: {
                'emb-openai': ['eo'],
                'emb-gemini': ['eg'],
                'emb-both': { deployments: ['eo', 'eg'], strategy: 'priority',
                    aliases: ['text-embedding-*'] },
                'chat-only': ['ec'],
            },
        });
        cfg.deployments.eo.price = { input_per_mtok: 1 };
        cfg.deployments.eg.price = { input_per_mtok: 2 };
        return cfg;
    },
});

before(() => stack.start(), { timeout: 60000 });
after(() => stack.stop(), { timeout: 30000 });
beforeEach(() => stack.mock.reset());

const client = () => new openaiPkg.OpenAI({
    baseURL: `${stack.base('lighttpd')}/v1`, apiKey: 'test', maxRetries: 0, timeout: 15000,
});

/* The body of the last request deployment 'dep' of the mock got. */
async function lastBody(dep) {
    const reqs = await stack.mock.requests(dep);
    assert.ok(reqs.length > 0, `no request reached ${dep}`);
    return reqs[reqs.length - 1].body;
}

function assertVectors(data, n, dim) {
    assert.equal(data.object, 'list');
    assert.equal(data.data.length, n);
    data.data.forEach((e, i) => {
        assert.equal(e.object, 'embedding');
        assert.equal(e.index, i);
        assert.equal(e.embedding.length, dim);
        const norm = Math.sqrt(Array.from(e.embedding).reduce((s, x) => s + x * x, 0));
        assert.ok(Math.abs(norm - 1) < 1e-5, `norm ${norm}`);
    });
}

function assertClose(a, b) {
    assert.equal(a.length, b.length);
    for (let i = 0; i < a.length; i++) {
        assert.ok(Math.abs(a[i] - b[i]) < 1e-6, `value ${i}: ${a[i]} vs ${b[i]}`);
    }
}

describe('POST /v1/embeddings behind lighttpd', { skip: h.missing('lighttpd') || NO_OPENAI }, () => {
    it('floats with dimensions (OpenAI dialect), usage and cost', async () => {
        const { data, response } = await client().embeddings.create({
            model: 'emb-openai', input: ['hello world', 'second input'],
            dimensions: 16, encoding_format: 'float',
        }).withResponse();
        assertVectors(data, 2, 16);
        assert.equal(data.model, 'text-embedding-3-small');
        /* The mock's count: 23 characters / 4. */
        assert.equal(data.usage.prompt_tokens, 5);
        assert.equal(data.usage.total_tokens, 5);
        assert.equal(response.headers.get('x-switchyard-deployment'), 'eo');
        assert.equal(response.headers.get('x-switchyard-cost-usd'), '0.000005');
        assert.equal(response.headers.get('x-switchyard-estimate'), null);
        const sent = await lastBody('eo');
        assert.deepEqual(sent, { model: 'text-embedding-3-small',
            input: ['hello world', 'second input'], dimensions: 16, encoding_format: 'float' });
    });

    it('base64 (the SDK default, decoded by the SDK): the same vectors', async () => {
        const input = ['hello world', 'second input'];
        const floats = await client().embeddings.create({
            model: 'emb-openai', input, dimensions: 8, encoding_format: 'float',
        });
        const decoded = await client().embeddings.create({ model: 'emb-openai', input, dimensions: 8 });
        assertVectors(decoded, 2, 8);
        for (let i = 0; i < 2; i++) assertClose(decoded.data[i].embedding, floats.data[i].embedding);
        /* The gateway asked for floats and encoded base64 itself. */
        assert.equal((await lastBody('eo')).encoding_format, 'float');
        const raw = await client().embeddings.create({
            model: 'emb-openai', input: 'x', encoding_format: 'base64',
        });
        assert.equal(typeof raw.data[0].embedding, 'string');
        assert.equal(Buffer.from(raw.data[0].embedding, 'base64').length, 8 * 4);
    });

    it('Gemini dialect: batchEmbedContents, same vectors, estimated usage', async () => {
        const input = ['hello world', 'second input'];
        const { data, response } = await client().embeddings.create({
            model: 'emb-gemini', input, dimensions: 16,
        }).withResponse();
        assertVectors(data, 2, 16);
        assert.equal(data.model, 'gemini-embedding-001');
        /* Gemini reports no usage: the gateway's estimate (11/4 + 12/4). */
        assert.equal(data.usage.prompt_tokens, 5);
        assert.equal(response.headers.get('x-switchyard-estimate'), 'true');
        assert.equal(response.headers.get('x-switchyard-cost-usd'), '0.000010');
        const sent = await lastBody('eg');
        assert.equal(sent.requests.length, 2);
        assert.deepEqual(sent.requests[1], { model: 'models/gemini-embedding-001',
            content: { parts: [{ text: 'second input' }] }, outputDimensionality: 16 });
        const oa = await client().embeddings.create({
            model: 'emb-openai', input, dimensions: 16, encoding_format: 'float',
        });
        for (let i = 0; i < 2; i++) assertClose(data.data[i].embedding, oa.data[i].embedding);
    });

    it('a failing OpenAI deployment fails over to Gemini', async () => {
        await stack.mock.fault('eo', { status: 503, count: 1 });
        const { data, response } = await client().embeddings.create({
            model: 'text-embedding-3-large', input: 'fail over', encoding_format: 'float',
        }).withResponse();
        assertVectors(data, 1, 8);
        assert.equal(response.headers.get('x-switchyard-deployment'), 'eg');
        assert.equal(response.headers.get('x-switchyard-attempts'), '2');
        assert.equal(await stack.mock.count('eo'), 1);
        assert.equal(await stack.mock.count('eg'), 1);
    });

    it('token arrays: served by OpenAI, refused for Gemini', async () => {
        const data = await client().embeddings.create({
            model: 'emb-openai', input: [[1, 2, 3], [4, 5]], encoding_format: 'float',
        });
        assertVectors(data, 2, 8);
        assert.equal(data.usage.prompt_tokens, 5);
        await assert.rejects(
            client().embeddings.create({ model: 'emb-gemini', input: [[1, 2, 3]] }),
            (e) => e.status === 400 && /token arrays/.test(e.message));
        assert.equal(await stack.mock.count('eg'), 0);
    });

    it('a group without an embeddings model: 400 naming it, nothing sent', async () => {
        await assert.rejects(
            client().embeddings.create({ model: 'chat-only', input: 'x' }),
            (e) => e.status === 400 && /ec \(not an embeddings model\)/.test(e.message));
        await assert.rejects(
            client().embeddings.create({ model: 'emb-openai', input: [] }),
            (e) => e.status === 400 && e.param === 'input');
        assert.equal(await stack.mock.count('ec'), 0);
        assert.equal(await stack.mock.count('eo'), 0);
    });
});
