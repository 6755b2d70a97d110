// API gateway routes through the npm client's `routes`, once with the default client (no
// apigw_token: no accesstoken/spaceguid in the query) and once with apigw_token 'DUMMY TOKEN';
// each route is called over plain HTTP at value.gwApiUrl + relpath.

import { APIHOST, API_KEY, NS, assert, client, fetchText, parseJson, rejects, run, step } from './lib.mjs'

const ow = client()
const UUID = API_KEY.split(':')[0]

const GREET = `def main(args):
    return {"greeting": "hello " + args.get("name", "nobody"), "method": args.get("__ow_method")}
`
const HTTP_RESPONSE = `def main(args):
    return {"statusCode": 201, "headers": {"Content-Type": "text/plain"},
            "body": "posted " + args.get("name", "nobody") + " at " + args.get("__ow_path", "?")}
`

/** Creates GET /testing/foo/bar -> webaction (json), checks create, list and the route; returns the URL. */
async function jsonRoute (routes, label) {
  step(`${label}: routes.create GET /testing/foo/bar`)
  const created = await routes.create({
    action: 'webaction', basepath: '/testing', relpath: '/foo/bar', operation: 'GET', responsetype: 'json'
  })
  assert.equal(created.gwApiUrl, `${APIHOST}/api/${UUID}/testing`)
  assert.equal(created.apidoc.basePath, '/testing')
  const op = created.apidoc.paths['/foo/bar'].get
  assert.equal(op.operationId, 'getFooBar')
  assert.deepEqual(op['x-openwhisk'], {
    url: `${APIHOST}/api/v1/web/${NS}/default/webaction.json`, namespace: NS, package: '', action: 'webaction'
  })

  step(`${label}: routes.list({basepath: '/testing'})`)
  const listed = await routes.list({ basepath: '/testing' })
  assert.equal(listed.apis.length, 1, JSON.stringify(listed))
  const value = listed.apis[0].value
  assert.equal(value.apidoc.basePath, '/testing')
  assert.equal(value.apidoc.paths['/foo/bar'].get['x-openwhisk'].action, 'webaction')
  assert.equal(value.gwApiUrl, created.gwApiUrl)

  step(`${label}: GET the route URL`)
  const url = value.gwApiUrl + '/foo/bar'
  const res = await fetchText(url + '?name=route')
  assert.equal(res.status, 200, res.body)
  assert.match(res.contentType, /^application\/json/)
  assert.deepEqual(parseJson(res, 'route'), { greeting: 'hello route', method: 'get' })

  step(`${label}: another verb on the route's path is the gateway's 404`)
  const wrongVerb = await fetchText(url, { method: 'POST' })
  assert.equal(wrongVerb.status, 404, wrongVerb.body)
  assert.deepEqual(parseJson(wrongVerb, 'wrong verb'), { status: 404, message: 'Error: Whoops. Verb not supported.' })
  return url
}

/** The route is gone: 404 from the gateway, and no API listed. */
async function gone (routes, url, label) {
  step(`${label}: the deleted route answers 404`)
  const res = await fetchText(url)
  assert.equal(res.status, 404, res.body)
  assert.deepEqual(parseJson(res, 'deleted route'), { status: 404, message: 'Error: Not found.' })
  step(`${label}: routes.list after delete is empty`)
  assert.deepEqual((await routes.list({ basepath: '/testing' })).apis, [])
}

run('routes', async () => {
  step('create the web actions')
  await ow.actions.create({ name: 'webaction', kind: 'python:3', action: GREET, annotations: { 'web-export': true } })
  await ow.actions.create({
    name: 'webhttp', kind: 'python:3', action: HTTP_RESPONSE, annotations: { 'web-export': true }
  })

  // The default client: no apigw_token, so no accesstoken/spaceguid in the query.
  const url = await jsonRoute(ow.routes, 'default client')
  step('default client: routes.delete({basepath: \'/testing\'})')
  await ow.routes.delete({ basepath: '/testing' })
  await gone(ow.routes, url, 'default client')

  // A client with a gateway token, as `wsk` and the client's own integration test run it.
  const tokened = client({ apigw_token: 'DUMMY TOKEN' }).routes
  const url2 = await jsonRoute(tokened, 'apigw_token client')

  step('apigw_token client: a second route on the base path, POST /foo/http with responsetype http')
  const second = await tokened.create({
    action: 'webhttp', basepath: '/testing', relpath: '/foo/http', operation: 'POST', responsetype: 'http'
  })
  assert.deepEqual(Object.keys(second.apidoc.paths).sort(), ['/foo/bar', '/foo/http'])
  const listed = await tokened.list({ basepath: '/testing' })
  assert.equal(listed.apis.length, 1)
  assert.equal(listed.apis[0].value.apidoc.paths['/foo/http'].post['x-openwhisk'].action, 'webhttp')

  step('apigw_token client: POST the http route')
  const posted = await fetchText(second.gwApiUrl + '/foo/http?name=token', { method: 'POST' })
  assert.equal(posted.status, 201, posted.body)
  assert.match(posted.contentType, /^text\/plain/)
  assert.equal(posted.body, 'posted token at /testing/foo/http')

  step('apigw_token client: routes.list() without a base path lists the API')
  const all = await tokened.list()
  assert.deepEqual(all.apis.map(a => a.value.apidoc.basePath), ['/testing'])

  step('apigw_token client: routes.delete of one operation keeps the other route')
  await tokened.delete({ basepath: '/testing', relpath: '/foo/http', operation: 'POST' })
  const after = await tokened.list({ basepath: '/testing' })
  assert.deepEqual(Object.keys(after.apis[0].value.apidoc.paths), ['/foo/bar'])
  const stillThere = await fetchText(url2)
  assert.equal(stillThere.status, 200, stillThere.body)

  step('apigw_token client: routes.delete({basepath: \'/testing\'})')
  await tokened.delete({ basepath: '/testing' })
  await gone(tokened, url2, 'apigw_token client')

  step('routes.delete of a missing API is 502 with the management action\'s error')
  const missing = await rejects(ow.routes.delete({ basepath: '/testing' }), 502)
  assert.equal(missing.error.error, "API deletion failure: API '/testing' does not exist.")

  step('clean up')
  await ow.actions.delete([{ name: 'webaction' }, { name: 'webhttp' }])

  return {
    gwApiUrl: `${APIHOST}/api/${UUID}/testing`, routeUrl: url, deletedStatus: 404, missingDelete: missing.statusCode
  }
})
