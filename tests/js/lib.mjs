// Shared helpers for the scripts that drive Squall with the official `openwhisk` npm client.
//
// Each script reads the server from __OW_API_HOST (with an explicit http:// scheme), __OW_API_KEY
// and __OW_NAMESPACE, runs its steps in order, stops at the first failed assertion with a message
// naming the step (exit 1), and otherwise prints one JSON line of what it observed (exit 0).

import assert from 'node:assert/strict'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const openwhisk = require('openwhisk')

function fromEnv (name) {
  const value = process.env[name]
  if (!value) {
    console.error(`missing environment variable ${name}`)
    process.exit(2)
  }
  return value
}

export const APIHOST = fromEnv('__OW_API_HOST')
export const API_KEY = fromEnv('__OW_API_KEY')
export const NS = fromEnv('__OW_NAMESPACE')

// Every plain HTTP call (web actions, API routes) gives up after this long.
const FETCH_TIMEOUT_MS = 60000

/** A client as the brief constructs it; `extra` adds options such as `apigw_token`. */
export function client (extra = {}) {
  return openwhisk({ apihost: APIHOST, api_key: API_KEY, namespace: NS, ...extra })
}

export const ECHO = 'def main(args):\n    return args\n'

let current = '(start)'

/** Names the step that runs next, so that a failure says where it happened. */
export function step (label) {
  current = label
}

/** Awaits `promise`, which must reject with an OpenWhisk error of `statusCode`; returns the error. */
export async function rejects (promise, statusCode) {
  let error
  try {
    const value = await promise
    assert.fail(`expected HTTP ${statusCode}, but the call resolved with ${JSON.stringify(value)}`)
  } catch (err) {
    if (err instanceof assert.AssertionError) throw err
    error = err
  }
  assert.equal(error.statusCode, statusCode,
    `expected HTTP ${statusCode}, got ${error.statusCode}: ${error.message}`)
  return error
}

/** A plain HTTP request (Node's fetch), bounded in time; returns status, content type and body text. */
export async function fetchText (url, init = {}) {
  const res = await fetch(url, { redirect: 'manual', ...init, signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) })
  const body = await res.text()
  return { status: res.status, contentType: res.headers.get('content-type') || '', headers: res.headers, body }
}

/** Parses a fetched body as JSON, failing the step with the body when it is not. */
export function parseJson (res, what) {
  try {
    return JSON.parse(res.body)
  } catch {
    assert.fail(`${what}: the body is not JSON (status ${res.status}, ${res.contentType}): ${res.body.slice(0, 500)}`)
  }
}

/** Retries `fn` while it rejects with HTTP 404 (a record not stored yet), for up to `ms`. */
export async function eventually (fn, ms = 15000) {
  const deadline = Date.now() + ms
  for (;;) {
    try {
      return await fn()
    } catch (err) {
      if (err.statusCode !== 404 || Date.now() > deadline) throw err
      await new Promise(resolve => setTimeout(resolve, 250))
    }
  }
}

/** The value of annotation `key` in a list of {key, value}, or undefined. */
export function annotation (doc, key) {
  const found = (doc.annotations || []).find(a => a.key === key)
  return found === undefined ? undefined : found.value
}

/** Parameters as an object (for comparing merged {key, value} lists regardless of order). */
export function paramsObject (list) {
  return Object.fromEntries((list || []).map(p => [p.key, p.value]))
}

/** Runs a script's steps; prints the observed JSON line, or the failed step and exits 1. */
export async function run (name, body) {
  try {
    const observed = await body()
    console.log(JSON.stringify({ script: name, ok: true, ...observed }))
  } catch (err) {
    const detail = err instanceof assert.AssertionError
      ? err.message
      : `${err.name || 'Error'}: ${err.message}${err.error ? ` (body: ${JSON.stringify(err.error)})` : ''}`
    console.error(`${name}: FAILED at step "${current}": ${detail}`)
    process.exit(1)
  }
}

export { assert }
