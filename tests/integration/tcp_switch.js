/*
 * tcp_switch.js - a TCP forwarder on 127.0.0.1 in front of a port (the
 * gateway's Redis in the outage tests): shut, it drops every connection
 * and refuses new ones, as an unreachable Redis does; reopened, it
 * forwards again.
 * SPDX-License-Identifier: MIT
 */
'use strict';

const net = require('node:net');

class Switch {
    constructor(target) { this.target = target; this.open = true; this.pairs = new Set(); }

    start() {
        this.server = net.createServer((c) => {
            if (!this.open) { c.destroy(); return; }
            const u = net.connect({ host: '127.0.0.1', port: this.target });
            const pair = [c, u];
            this.pairs.add(pair);
            const end = () => { c.destroy(); u.destroy(); this.pairs.delete(pair); };
            c.on('error', end); u.on('error', end); c.on('close', end); u.on('close', end);
            c.pipe(u); u.pipe(c);
        });
        return new Promise((resolve) => this.server.listen(0, '127.0.0.1', () => {
            this.port = this.server.address().port;
            resolve();
        }));
    }

    shut() {
        this.open = false;
        for (const [c, u] of this.pairs) { c.destroy(); u.destroy(); }
        this.pairs.clear();
    }

    reopen() { this.open = true; }

    stop() { this.shut(); return new Promise((resolve) => this.server.close(resolve)); }
}

module.exports = { Switch };
