// Actions inside a package, invoked through the package and through a binding, with OpenWhisk's
// parameter precedence: package < binding < action < invocation.

import { ECHO, NS, annotation, assert, client, eventually, paramsObject, rejects, run, step } from './lib.mjs'

const ow = client()
const OWN = ['fromPackage', 'fromBinding', 'fromAction', 'fromInvocation']

/** Only the keys this test sets (the result also carries nothing else, but be explicit). */
function own (result) {
  return Object.fromEntries(OWN.filter(k => k in result).map(k => [k, result[k]]))
}

run('package_actions', async () => {
  step('create package p with parameters')
  await ow.packages.create({
    name: 'p',
    package: {
      parameters: [
        { key: 'fromPackage', value: 'package' }, { key: 'fromBinding', value: 'package' },
        { key: 'fromAction', value: 'package' }, { key: 'fromInvocation', value: 'package' }
      ]
    }
  })

  step('create binding b -> p with parameters')
  await ow.packages.create({
    name: 'b',
    package: {
      binding: { namespace: NS, name: 'p' },
      parameters: [
        { key: 'fromBinding', value: 'binding' }, { key: 'fromAction', value: 'binding' },
        { key: 'fromInvocation', value: 'binding' }
      ]
    }
  })

  step('actions.create({name: "p/echo"}) with parameters')
  const created = await ow.actions.create({
    name: 'p/echo',
    kind: 'python:3',
    action: ECHO,
    params: { fromAction: 'action', fromInvocation: 'action' }
  })
  assert.equal(created.namespace, `${NS}/p`)
  assert.equal(created.name, 'echo')
  assert.deepEqual(paramsObject(created.parameters), { fromAction: 'action', fromInvocation: 'action' })

  step('actions.create inside a binding is refused with 400')
  const inBinding = await rejects(ow.actions.create({ name: 'b/nope', kind: 'python:3', action: ECHO }), 400)
  assert.equal(inBinding.error.error, 'Operation not permitted on package binding.')

  step('actions.get through the package merges package and action parameters')
  const viaPackage = await ow.actions.get({ name: 'p/echo' })
  assert.equal(viaPackage.namespace, `${NS}/p`)
  assert.deepEqual(paramsObject(viaPackage.parameters),
    { fromPackage: 'package', fromBinding: 'package', fromAction: 'action', fromInvocation: 'action' })

  step('actions.get through the binding shows the real package and the binding\'s parameters')
  const viaBinding = await ow.actions.get({ name: 'b/echo' })
  assert.equal(viaBinding.namespace, `${NS}/p`)
  assert.deepEqual(paramsObject(viaBinding.parameters),
    { fromPackage: 'package', fromBinding: 'binding', fromAction: 'action', fromInvocation: 'action' })

  step('actions.list includes the packaged action')
  const listed = await ow.actions.list()
  const entry = listed.find(a => a.name === 'echo')
  assert.ok(entry, `echo not listed: ${JSON.stringify(listed)}`)
  assert.equal(entry.namespace, `${NS}/p`)

  step('invoke p/echo through the package (blocking, result)')
  const packageResult = await ow.actions.invoke({
    name: 'p/echo', blocking: true, result: true, params: { fromInvocation: 'invocation' }
  })
  assert.deepEqual(own(packageResult),
    { fromPackage: 'package', fromBinding: 'package', fromAction: 'action', fromInvocation: 'invocation' })

  step('invoke b/echo through the binding (blocking, result)')
  const bindingResult = await ow.actions.invoke({
    name: 'b/echo', blocking: true, result: true, params: { fromInvocation: 'invocation' }
  })
  assert.deepEqual(own(bindingResult),
    { fromPackage: 'package', fromBinding: 'binding', fromAction: 'action', fromInvocation: 'invocation' })

  step('invoke b/echo without parameters: the action\'s own value wins over package and binding')
  const defaults = await ow.actions.invoke({ name: 'b/echo', blocking: true, result: true })
  assert.deepEqual(own(defaults),
    { fromPackage: 'package', fromBinding: 'binding', fromAction: 'action', fromInvocation: 'action' })

  step('invoke through the binding with a fully qualified name, whole activation record')
  const record = await ow.actions.invoke({
    name: `/${NS}/b/echo`, blocking: true, params: { fromInvocation: 'invocation' }
  })
  assert.equal(record.response.success, true)
  assert.equal(record.response.status, 'success')
  assert.equal(record.namespace, NS)
  assert.equal(record.name, 'echo')
  assert.equal(annotation(record, 'path'), `${NS}/p/echo`)
  assert.equal(annotation(record, 'binding'), `${NS}/b`)
  assert.equal(annotation(record, 'kind'), 'python:3')

  step('the record of an invocation through the package has no binding annotation')
  const direct = await ow.actions.invoke({ name: 'p/echo', blocking: true })
  assert.equal(annotation(direct, 'path'), `${NS}/p/echo`)
  assert.equal(annotation(direct, 'binding'), undefined)

  step('activations.get of the binding invocation')
  const fetched = await eventually(() => ow.activations.get({ name: record.activationId }))
  assert.equal(fetched.activationId, record.activationId)
  assert.deepEqual(own(fetched.response.result), own(record.response.result))

  step('invoke an action of /whisk.system/utils through a binding in the namespace')
  await ow.packages.create({ name: 'u', package: { binding: { namespace: 'whisk.system', name: 'utils' } } })
  const sorted = await ow.actions.invoke({
    name: 'u/sort', blocking: true, result: true, params: { lines: ['b', 'c', 'a'] }
  })
  assert.deepEqual(sorted, { lines: ['a', 'b', 'c'], length: 3 })

  step('a missing action in the package is 404')
  await rejects(ow.actions.invoke({ name: 'p/missing', blocking: true }), 404)

  step('clean up')
  await ow.actions.delete({ name: 'p/echo' })
  await ow.packages.delete([{ name: 'b' }, { name: 'u' }])
  await ow.packages.delete({ name: 'p' })

  return {
    viaPackage: own(packageResult),
    viaBinding: own(bindingResult),
    bindingDefaults: own(defaults),
    recordAnnotations: { path: annotation(record, 'path'), binding: annotation(record, 'binding') },
    utilsSort: sorted
  }
})
