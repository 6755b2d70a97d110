// Web actions: created with the npm client (annotation web-export, the client has no web option),
// then called over plain HTTP with Node's fetch as .json and .http; a non-exported action is 404.

import { APIHOST, API_KEY, ECHO, NS, annotation, assert, client, fetchText, parseJson, run, step } from './lib.mjs'

const ow = client()
const WEB = `${APIHOST}/api/v1/web/${NS}`

const HTTP_RESPONSE = `def main(args):
    return {"statusCode": 201,
            "headers": {"Content-Type": "text/plain", "X-Squall-Test": "yes"},
            "body": "hello " + args.get("name", "nobody")}
`

/** The keys of an echoed web payload that this test looks at. */
function echoed (body) {
  return { x: body.x, name: body.name, method: body.__ow_method, path: body.__ow_path, user: body.__ow_user }
}

run('webactions', async () => {
  step('actions.create with annotations {web-export: true}')
  const web = await ow.actions.create({
    name: 'webecho', kind: 'python:3', action: ECHO, annotations: { 'web-export': true }
  })
  assert.equal(annotation(web, 'web-export'), true)
  await ow.actions.create({
    name: 'webhttp', kind: 'python:3', action: HTTP_RESPONSE, annotations: { 'web-export': true }
  })
  await ow.actions.create({ name: 'private', kind: 'python:3', action: ECHO })
  await ow.actions.create({
    name: 'stringly', kind: 'python:3', action: ECHO, annotations: { 'web-export': 'true' }
  })

  step('GET .json?x=1 (anonymous)')
  const json = await fetchText(`${WEB}/default/webecho.json?x=1`)
  assert.equal(json.status, 200, json.body)
  assert.match(json.contentType, /^application\/json/)
  const jsonBody = parseJson(json, '.json')
  assert.deepEqual(echoed(jsonBody), { x: '1', name: undefined, method: 'get', path: '', user: undefined })
  assert.equal(typeof jsonBody.__ow_headers, 'object')
  assert.ok(json.headers.get('x-openwhisk-activation-id'), 'no x-openwhisk-activation-id header')

  step('POST .json with a JSON object body and the caller\'s key: fields and __ow_user')
  const posted = await fetchText(`${WEB}/default/webecho.json?x=2`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      Authorization: 'Basic ' + Buffer.from(API_KEY).toString('base64')
    },
    body: JSON.stringify({ name: 'body' })
  })
  assert.equal(posted.status, 200, posted.body)
  const postedBody = parseJson(posted, 'POST .json')
  assert.deepEqual(echoed(postedBody), { x: '2', name: 'body', method: 'post', path: '', user: NS })
  assert.equal(postedBody.__ow_headers['content-type'], 'application/json')

  step('GET .http: the action\'s statusCode, headers and body')
  const http = await fetchText(`${WEB}/default/webhttp.http?name=web`)
  assert.equal(http.status, 201, http.body)
  assert.match(http.contentType, /^text\/plain/)
  assert.equal(http.body, 'hello web')
  assert.equal(http.headers.get('x-squall-test'), 'yes')

  step('GET without an extension is .http')
  const bare = await fetchText(`${WEB}/default/webhttp?name=bare`)
  assert.equal(bare.status, 201, bare.body)
  assert.equal(bare.body, 'hello bare')

  step('an action that is not web-exported is 404')
  const notExported = await fetchText(`${WEB}/default/private.json?x=1`)
  assert.equal(notExported.status, 404, notExported.body)
  assert.match(notExported.contentType, /^application\/json/)
  assert.equal(parseJson(notExported, '404').error, 'The requested resource does not exist.')

  step('web-export must be the boolean true (the string "true" is 404)')
  const stringly = await fetchText(`${WEB}/default/stringly.json`)
  assert.equal(stringly.status, 404, stringly.body)

  step('a missing action is 404')
  const missing = await fetchText(`${WEB}/default/nothere.json`)
  assert.equal(missing.status, 404, missing.body)

  step('a web action in a package: /web/NS/pkg/action.json')
  await ow.packages.create({ name: 'wp', package: { parameters: [{ key: 'name', value: 'package' }] } })
  await ow.actions.create({
    name: 'wp/echo', kind: 'python:3', action: ECHO, annotations: { 'web-export': true }
  })
  const inPackage = await fetchText(`${WEB}/wp/echo.json?x=3`)
  assert.equal(inPackage.status, 200, inPackage.body)
  assert.deepEqual(echoed(parseJson(inPackage, 'package .json')),
    { x: '3', name: 'package', method: 'get', path: '', user: undefined })

  // Last, so that every other check has run: current OpenWhisk has no .json projection; the rest
  // of the path after the action is only __ow_path.
  step('GET .json/some/path: the rest of the path is __ow_path (no projection)')
  const rest = await fetchText(`${WEB}/default/webecho.json/some/path?x=4`)
  assert.equal(rest.status, 200, rest.body)
  assert.deepEqual(echoed(parseJson(rest, '.json/some/path')),
    { x: '4', name: undefined, method: 'get', path: '/some/path', user: undefined })

  step('clean up')
  await ow.actions.delete([{ name: 'webecho' }, { name: 'webhttp' }, { name: 'private' }, { name: 'stringly' },
    { name: 'wp/echo' }])
  await ow.packages.delete({ name: 'wp' })

  return {
    json: { status: json.status, contentType: json.contentType, echoed: echoed(jsonBody) },
    http: { status: http.status, contentType: http.contentType, body: http.body },
    notExported: notExported.status,
    stringExport: stringly.status
  }
})
