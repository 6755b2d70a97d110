'use strict';
/*
 * Squall's Node.js action launcher (the "actionloop" half of the Node.js runtime).
 *
 *   node [node flags] launcher.js
 *
 * The Python proxy (backend/actionproxy.py) speaks /init and /run and writes the log sentinels;
 * this process only loads the action and runs it. It starts with the container (a prewarmed one
 * has it up already), so:
 *   - the first line on stdin is the init, {"dir": <action dir>, "main": <entry>, "env": {...}},
 *     answered by one line on fd 3, {"ok":true} or {"error":"..."} (then it exits);
 *   - then each line on stdin is a request {"value": {...}, "env": {...}}, answered by one line
 *     on fd 3: the JSON of the action's result;
 *   - stdout and stderr are the action's logs, and everything written to them for a request is
 *     written before that request's response line;
 *   - when stdin closes the process exits 0.
 *
 * The loading rules, the mapping of results and the error texts follow OpenWhisk's Node.js
 * runtime (apache/openwhisk-runtime-nodejs: core/nodejsActionBase/runner.js and src/service.js).
 * As there, nothing here handles 'uncaughtException' or 'unhandledRejection': Node's default
 * applies, so such an error prints its stack on stderr and ends the process with a non-zero code,
 * and the proxy sees fd 3 close instead of waiting for an answer that will never come.
 *
 * Standard library only; CommonJS; runs on Node 18 and 20.
 */

const fs = require('fs');
const path = require('path');
const Module = require('module');
const readline = require('readline');

// Kept from startup, so an action that reassigns these cannot break the response channel.
const RESPONSE_FD = 3;
const writeSync = fs.writeSync;
const stringify = JSON.stringify;
const parse = JSON.parse;

const LOOKUP_KEY = Symbol.for('squall.nodejs.launcher.lookup');

const NO_CODE = 'Missing main/no code to execute.';
const ZIP_WITHOUT_ENTRY = 'Zipped actions must contain either package.json or index.js at the root.';
const BAD_MAIN_NAME = 'Name of main function is not valid.';
const BAD_ARCHIVE = 'There was an error uncompressing the action archive.';

// ---------------------------------------------------------------------------------------------
// Output

/** Write one response line on fd 3, all of it, synchronously. */
function respond(text) {
    const data = Buffer.from(text + '\n', 'utf8');
    let offset = 0;
    while (offset < data.length) {
        try {
            offset += writeSync(RESPONSE_FD, data, offset, data.length - offset);
        } catch (err) {
            if (err && err.code === 'EAGAIN') {
                // Only if someone made fd 3 non-blocking: wait a moment and go on.
                Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2);
                continue;
            }
            if (err && err.code === 'EPIPE') {
                process.exit(0); // the proxy is gone: nobody to answer
            }
            throw err;
        }
    }
}

/** Resolve once whatever is still buffered on a stdio stream has gone out. */
function drained(stream) {
    return new Promise(resolve => {
        if (!stream || stream.destroyed || !stream.writableLength) {
            resolve();
            return;
        }
        const done = () => {
            stream.removeListener('drain', done);
            stream.removeListener('error', done);
            stream.removeListener('close', done);
            resolve();
        };
        stream.on('drain', done);
        stream.on('error', done);
        stream.on('close', done);
    });
}

/**
 * Make sure the action's logs are out before its response line. On Linux, writes to pipes and
 * files from process.stdout/stderr are synchronous already, so this normally does not wait.
 */
function flushLogs() {
    if (!process.stdout.writableLength && !process.stderr.writableLength) {
        return null;
    }
    return Promise.all([drained(process.stdout), drained(process.stderr)]);
}

/** `${value}` the way a template literal does it, without throwing (Symbols, null prototypes). */
function asText(value) {
    try {
        return `${value}`;
    } catch (_) {
        try {
            return String(value);
        } catch (_again) {
            return Object.prototype.toString.call(value);
        }
    }
}

/**
 * An error's stack as text. For a SyntaxError, Node's module compiler puts the offending source
 * line and a caret above the "SyntaxError: ..." line; OpenWhisk compiles with eval, whose stack
 * starts at "SyntaxError: ...", so that frame is left off here (the log still shows it).
 */
function stackText(err) {
    let stack = String(err.stack);
    const name = typeof err.name === 'string' ? err.name : '';
    if (name && !stack.startsWith(name)) {
        const at = stack.indexOf('\n\n' + name + ': ');
        if (at !== -1) {
            stack = stack.slice(at + 2);
        }
    }
    return stack;
}

// ---------------------------------------------------------------------------------------------
// serializeError: how OpenWhisk's runner reports a rejected promise ({error: serializeError(e)}).
// Follows the npm package serialize-error (v11), which the runtime uses for this.

const ERROR_PROPERTIES = ['name', 'message', 'stack', 'code', 'cause'];
const inToJSON = new WeakSet();

function isErrorLike(value) {
    return Boolean(value) && typeof value === 'object'
        && typeof value.name === 'string'
        && typeof value.message === 'string'
        && typeof value.stack === 'string';
}

function copyWithoutCycles(from, seen) {
    const to = Array.isArray(from) ? [] : {};
    seen.push(from);

    if (typeof from.toJSON === 'function' && !inToJSON.has(from)) {
        inToJSON.add(from);
        try {
            return from.toJSON();
        } finally {
            inToJSON.delete(from);
        }
    }

    const nested = value => copyWithoutCycles(value, seen.slice());

    for (const [key, value] of Object.entries(from)) {
        if (value && value instanceof Uint8Array && value.constructor.name === 'Buffer') {
            to[key] = '[object Buffer]';
        } else if (value !== null && typeof value === 'object' && typeof value.pipe === 'function') {
            to[key] = '[object Stream]';
        } else if (typeof value === 'function') {
            // dropped, as JSON.stringify would
        } else if (!value || typeof value !== 'object') {
            try {
                to[key] = value;
            } catch (_) {
                // a non-writable property: leave it out
            }
        } else if (!seen.includes(value)) {
            to[key] = nested(value);
        } else {
            to[key] = '[Circular]';
        }
    }

    for (const property of ERROR_PROPERTIES) {
        const value = from[property];
        if (value !== undefined && value !== null) {
            Object.defineProperty(to, property, {
                value: isErrorLike(value) ? nested(value) : value,
                enumerable: true,
                configurable: true,
                writable: true,
            });
        }
    }
    return to;
}

function serializeError(value) {
    if (typeof value === 'object' && value !== null) {
        return copyWithoutCycles(value, []);
    }
    if (typeof value === 'function') {
        return `[Function: ${value.name || 'anonymous'}]`;
    }
    return value;
}

// ---------------------------------------------------------------------------------------------
// Init: load the code and find the entry point (OpenWhisk runner.js initializeActionHandler).

class InitError extends Error {
    constructor(text) {
        super(text);
        this.responseText = text; // sent as it is, without the "Initialization has failed" prefix
    }
}

/** "a" -> [undefined, "a"]; "file.a.b" -> ["file", "a.b"]; anything else -> undefined. */
function splitMainHandler(name) {
    const match = /^([^.]+)$|^([^.]+)\.(.+)$/.exec(name);
    if (!match) {
        return undefined;
    }
    return [match[2], match[3] || match[1]];
}

/** Plain source: run it as a CommonJS module in <action_dir>, then find main in its scope. */
function loadSource(actionDir, sourcePath, mainName) {
    let code = fs.readFileSync(sourcePath, 'utf8');
    if (code.length === 0) {
        throw new InitError(NO_CODE);
    }
    if (code.charCodeAt(0) === 0xFEFF) {
        code = code.slice(1);
    }

    const mod = new Module(sourcePath, null);
    mod.filename = sourcePath;
    mod.paths = Module._nodeModulePaths(actionDir);

    // The tail runs in the code's own scope, so a top-level `function main` (or let/const/var)
    // is visible to it, as it is to the `return main` OpenWhisk appends to the code it evals.
    const tail = '\n;globalThis[Symbol.for(' + stringify(LOOKUP_KEY.description) + ')] = '
        + 'function () { return eval(arguments[0]); };\n';
    delete globalThis[LOOKUP_KEY];
    // 'commonjs': no ES-module syntax detection (Node >= 20.19 would otherwise load code with
    // import/export as an ES module); OpenWhisk's eval rejects such code with a SyntaxError, and
    // so does every Node version here. (Node 18 takes no third argument, and needs none.)
    mod._compile(code + tail, sourcePath, 'commonjs');
    mod.loaded = true;

    const lookup = globalThis[LOOKUP_KEY];
    delete globalThis[LOOKUP_KEY];
    if (typeof lookup !== 'function') {
        return undefined; // the code returned early at top level: there is no main to find
    }
    try {
        return lookup(mainName);
    } catch (err) {
        if (err && err.name === 'ReferenceError') {
            return lookup('module.exports.' + mainName + ' || exports.' + mainName);
        }
        throw err;
    }
}

/** Zip: require the module in <action_dir>/unzipped (package.json "main", or index.js). */
function loadArchive(moduleDir, mainName) {
    let isDir = false;
    try {
        isDir = fs.statSync(moduleDir).isDirectory();
    } catch (_) {
        isDir = false;
    }
    if (!isDir) {
        throw BAD_ARCHIVE;
    }

    const parts = splitMainHandler(mainName);
    if (parts === undefined) {
        throw BAD_MAIN_NAME;
    }
    const [index, member] = parts;

    process.chdir(moduleDir);

    if (index === undefined
        && !fs.existsSync(path.join(moduleDir, 'package.json'))
        && !fs.existsSync(path.join(moduleDir, 'index.js'))) {
        throw ZIP_WITHOUT_ENTRY;
    }

    let value = require(index !== undefined ? path.join(moduleDir, index) : moduleDir);
    for (const key of member.split('.')) {
        value = value[key]; // throws a TypeError on a missing level, as OpenWhisk's eval does
    }
    return value;
}

function initialize(actionDir, mainName) {
    const sourcePath = path.join(actionDir, 'action.src');
    const binaryPath = path.join(actionDir, 'action.bin');
    const moduleDir = path.join(actionDir, 'unzipped');

    let handler;
    if (fs.existsSync(binaryPath) || fs.existsSync(moduleDir)) {
        handler = loadArchive(moduleDir, mainName);
    } else if (fs.existsSync(sourcePath)) {
        handler = loadSource(actionDir, sourcePath, mainName);
    } else {
        throw new InitError(NO_CODE);
    }

    if (typeof handler !== 'function') {
        throw "Action entrypoint '" + mainName + "' is not a function.";
    }
    return handler;
}

/** The error line for a failed init (OpenWhisk service.js initCode/doInit). */
function initFailure(err) {
    if (err instanceof InitError) {
        return err.responseText;
    }
    // this goes to the activation's logs, as the runtime's console.error does
    console.error('Error during initialization:', err);
    const detail = err !== null && err !== undefined && err.stack ? stackText(err) : asText(err);
    return 'Initialization has failed due to: ' + detail;
}

// ---------------------------------------------------------------------------------------------
// Run (OpenWhisk service.js doRun/runCode and runner.js NodeActionRunner.run/finalizeResult).

function setEnvironment(env) {
    if (!env || typeof env !== 'object') {
        return;
    }
    for (const key of Object.keys(env)) {
        const value = env[key];
        if (typeof value === 'string') {
            process.env[key] = value;
        } else if (value !== null && value !== undefined) {
            process.env[key] = typeof value === 'object' ? stringify(value) : String(value);
        }
    }
}

/** Call main and settle on the result object to report; never rejects. */
function invoke(handler, args) {
    return new Promise(resolve => {
        let result;
        try {
            result = handler(args);
        } catch (err) {
            console.error(err); // the runtime logs what main threw
            resolve({ error: 'An error has occurred: ' + asText(err) });
            return;
        }
        // Non-promises resolve at once; a promise or a thenable is waited for.
        Promise.resolve(result).then(value => {
            resolve(value === undefined ? {} : value); // e.g. a bare "return;"
        }, reason => {
            if (!reason) {
                resolve({ error: {} }); // reject() with nothing
                return;
            }
            try {
                resolve({ error: serializeError(reason) });
            } catch (err) {
                resolve({ error: err && err.message }); // the runtime's fallback
            }
        });
    });
}

/** The response line for a result: its JSON, whatever its type (the proxy decides). */
function encodeResult(result) {
    let text;
    try {
        text = stringify(result);
    } catch (err) {
        if (typeof result === 'bigint') {
            return stringify(String(result));
        }
        // The runtime's express res.json throws here too and answers this.
        return stringify({ error: 'Internal error.' });
    }
    if (text === undefined) {
        // a function, a symbol, or a toJSON that gives nothing: not a dictionary, said as a string
        return stringify(typeof result === 'function'
            ? `[Function: ${result.name || 'anonymous'}]`
            : asText(result));
    }
    return text;
}

async function handleRequest(handler, line) {
    let request;
    try {
        request = parse(line);
    } catch (err) {
        return stringify({ error: 'Internal system error: the request is not valid JSON.' });
    }
    if (!request || typeof request !== 'object') {
        return stringify({ error: 'Internal system error: the request is not a JSON object.' });
    }

    setEnvironment(request.env);

    let args = request.value;
    if (args === null || args === undefined) {
        args = {};
    } else if (typeof args !== 'object') {
        return stringify({
            error: `Internal system error: the argument must be a dictionary but has type '${typeof args}'.`,
        });
    }

    return encodeResult(await invoke(handler, args));
}

// ---------------------------------------------------------------------------------------------
// The loop

function serve() {
    const pending = [];
    let handler = null; // until the first line, the init, brings the action
    let busy = false;
    let closed = false;

    async function pump() {
        if (busy) {
            return;
        }
        busy = true;
        while (pending.length > 0) {
            const line = pending.shift();
            if (line.trim() === '') {
                continue;
            }
            let response;
            let failed = false;
            if (handler === null) {
                try {
                    handler = initializeFrom(line);
                    response = '{"ok":true}';
                } catch (err) {
                    response = stringify({ error: initFailure(err) });
                    failed = true;
                }
            } else {
                response = await handleRequest(handler, line);
            }
            const flushing = flushLogs();
            if (flushing) {
                await flushing;
            }
            respond(response);
            if (failed) {
                process.exit(0);
            }
        }
        busy = false;
        if (closed) {
            process.exit(0);
        }
    }

    const input = readline.createInterface({ input: process.stdin, crlfDelay: Infinity, terminal: false });
    input.on('line', line => {
        pending.push(line);
        pump();
    });
    input.on('close', () => {
        closed = true;
        pump();
    });
    process.stdin.on('error', () => {
        closed = true;
        pump();
    });
}

// The init line: {"dir": <action dir>, "main": <entry point>, "env": {...}}. The launcher is
// started before it (with a prewarmed container), so an init only loads the action's code.
function initializeFrom(line) {
    const init = JSON.parse(line);
    for (const [key, value] of Object.entries(init.env || {})) {
        if (value !== null && value !== undefined) {
            process.env[key] = typeof value === 'string' ? value : JSON.stringify(value);
        }
    }
    const actionDir = path.resolve(init.dir || '.');
    process.chdir(actionDir);
    return initialize(actionDir, init.main || 'main');
}

// What the action sees, as in OpenWhisk's runtime: node and the script, no arguments.
process.argv.splice(2);
serve();
