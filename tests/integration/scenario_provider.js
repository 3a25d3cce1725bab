/*
 * scenario_provider.js - a provider on 127.0.0.1 for tests that need
 * replies the mock does not give (broken protocols, cut answers): the
 * first path segment of each request, the deployment's name in the
 * harness's base_url, picks a scenario (res, body) => void that writes
 * the reply. An unknown name gets a 404. The names of the requests made
 * are kept in order, to assert which deployments were called.
 * SPDX-License-Identifier: MIT
 */
'use strict';

const http = require('node:http');

class ScenarioProvider {
    constructor(scenarios) {
        this.requests = [];
        this.port = 0;
        this.server = http.createServer((req, res) => {
            let body = '';
            req.on('data', (d) => { body += d; });
            req.on('end', () => {
                const name = req.url.split('/')[1];
                this.requests.push(name);
                const s = scenarios[name];
                if (!s) {
                    res.writeHead(404, { 'Content-Type': 'application/json' });
                    res.end('{"error":{"type":"not_found_error","message":"no scenario"}}');
                    return;
                }
                s(res, body);
            });
        });
    }

    async start() {
        await new Promise((r) => this.server.listen(0, '127.0.0.1', r));
        this.port = this.server.address().port;
        return this.port;
    }

    async stop() {
        this.server.closeAllConnections();
        await new Promise((r) => this.server.close(r));
    }

    /* The names of the requests made while 'fn' ran, with its result. */
    async during(fn) {
        const from = this.requests.length;
        const r = await fn();
        return { r, made: this.requests.slice(from) };
    }
}

module.exports = { ScenarioProvider };
