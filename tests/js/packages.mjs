// Packages and bindings through the npm client: create, update, get (with its actions), list,
// a binding in the namespace and one to the public /whisk.system/utils, and delete.

import { ECHO, NS, annotation, assert, client, paramsObject, rejects, run, step } from './lib.mjs'

const ow = client()

run('packages', async () => {
  step('packages.get of a missing package is 404')
  await rejects(ow.packages.get({ name: 'glorfindel' }), 404)

  step('packages.create({name}) gives version 0.0.1 and no annotations')
  const created = await ow.packages.create({ name: 'p' })
  assert.equal(created.name, 'p')
  assert.equal(created.namespace, NS)
  assert.deepEqual(created.annotations, [])
  assert.equal(created.version, '0.0.1')
  assert.equal(created.publish, false)
  assert.deepEqual(created.binding, {})
  assert.deepEqual(created.parameters, [])

  step('packages.create of an existing package is 409')
  await rejects(ow.packages.create({ name: 'p' }), 409)

  step('packages.update({name}) bumps the version to 0.0.2')
  const updated = await ow.packages.update({ name: 'p' })
  assert.equal(updated.version, '0.0.2')
  assert.deepEqual(updated.annotations, [])

  step('packages.update with parameters and annotations replaces them (0.0.3)')
  const withParams = await ow.packages.update({
    name: 'p',
    package: { parameters: [{ key: 'who', value: 'package' }, { key: 'pkgOnly', value: 1 }] },
    annotations: { description: 'a test package' }
  })
  assert.equal(withParams.version, '0.0.3')
  assert.deepEqual(paramsObject(withParams.parameters), { who: 'package', pkgOnly: 1 })
  assert.deepEqual(withParams.annotations, [{ key: 'description', value: 'a test package' }])

  step('actions.create in the package')
  const action = await ow.actions.create({ name: 'p/a', kind: 'python:3', action: ECHO })
  assert.equal(action.name, 'a')
  assert.equal(action.namespace, `${NS}/p`)
  assert.equal(action.exec.kind, 'python:3')

  step('packages.get lists the package\'s actions')
  const got = await ow.packages.get({ name: 'p' })
  assert.equal(got.name, 'p')
  assert.equal(got.namespace, NS)
  assert.deepEqual(got.binding, {})
  assert.ok(Array.isArray(got.actions), `actions is not an array: ${JSON.stringify(got)}`)
  assert.deepEqual(got.actions.map(a => a.name), ['a'])
  assert.equal(got.actions[0].version, '0.0.1')
  assert.ok(Array.isArray(got.actions[0].annotations))
  assert.deepEqual(got.feeds, [])

  step('packages.create of a binding to the package, with parameters')
  const binding = await ow.packages.create({
    name: 'b',
    package: { binding: { namespace: NS, name: 'p' }, parameters: [{ key: 'who', value: 'binding' }] }
  })
  assert.equal(binding.name, 'b')
  assert.equal(binding.namespace, NS)
  assert.deepEqual(binding.binding, { namespace: NS, name: 'p' })
  assert.equal(binding.version, '0.0.1')
  assert.deepEqual(paramsObject(binding.parameters), { who: 'binding' })
  assert.deepEqual(annotation(binding, 'binding'), { namespace: NS, name: 'p' })

  step('packages.get of the binding merges package and binding parameters and lists the bound actions')
  const gotBinding = await ow.packages.get({ name: 'b' })
  assert.deepEqual(gotBinding.binding, { namespace: NS, name: 'p' })
  assert.deepEqual(paramsObject(gotBinding.parameters), { who: 'binding', pkgOnly: 1 })
  assert.deepEqual(gotBinding.actions.map(a => a.name), ['a'])

  step('packages.create of a binding to the public /whisk.system/utils')
  const utils = await ow.packages.create({
    name: 'u',
    package: { binding: { namespace: 'whisk.system', name: 'utils' } }
  })
  assert.deepEqual(utils.binding, { namespace: 'whisk.system', name: 'utils' })
  assert.equal(utils.namespace, NS)

  step('packages.get of the utils binding lists the utils actions')
  const gotUtils = await ow.packages.get({ name: 'u' })
  const utilsActions = gotUtils.actions.map(a => a.name).sort()
  for (const name of ['cat', 'echo', 'head', 'sort', 'split']) {
    assert.ok(utilsActions.includes(name), `no ${name} in ${JSON.stringify(utilsActions)}`)
  }

  step('packages.get of /whisk.system/utils itself (public)')
  const systemUtils = await ow.packages.get({ name: '/whisk.system/utils' })
  assert.equal(systemUtils.namespace, 'whisk.system')
  assert.equal(systemUtils.publish, true)
  assert.deepEqual(systemUtils.actions.map(a => a.name).sort(), utilsActions)

  step('packages.list lists the package and both bindings')
  const list = await ow.packages.list()
  assert.ok(Array.isArray(list))
  const byName = Object.fromEntries(list.map(p => [p.name, p]))
  assert.deepEqual(Object.keys(byName).sort(), ['b', 'p', 'u'])
  for (const entry of list) assert.equal(entry.namespace, NS)
  assert.equal(byName.p.binding, false)
  assert.deepEqual(byName.b.binding, { namespace: NS, name: 'p' })
  assert.deepEqual(byName.u.binding, { namespace: 'whisk.system', name: 'utils' })
  assert.equal(byName.p.version, '0.0.3')
  assert.equal(byName.p.parameters, undefined)

  step('packages.list of whisk.system shows its public utils package')
  const systemList = await ow.packages.list({ namespace: 'whisk.system' })
  const systemNames = systemList.map(p => p.name)
  assert.ok(systemNames.includes('utils'), JSON.stringify(systemNames))
  for (const entry of systemList) assert.equal(entry.publish, true)

  step('packages.delete of a non-empty package without force is 409')
  const notEmpty = await rejects(ow.packages.delete({ name: 'p' }), 409)
  assert.match(notEmpty.error.error, /^Package not empty \(contains 1 entity\)/)

  step('packages.delete of the bindings')
  const deletedBinding = await ow.packages.delete({ name: 'b' })
  assert.deepEqual(deletedBinding.binding, { namespace: NS, name: 'p' })
  await ow.packages.delete({ name: 'u' })

  step('actions.delete in the package, then packages.delete of the emptied package')
  await ow.actions.delete({ name: 'p/a' })
  const deleted = await ow.packages.delete({ name: 'p' })
  assert.equal(deleted.name, 'p')
  assert.equal(deleted.version, '0.0.3')

  step('packages.get after delete is 404, packages.list is empty')
  await rejects(ow.packages.get({ name: 'p' }), 404)
  assert.deepEqual(await ow.packages.list(), [])

  return {
    created: { version: created.version, annotations: created.annotations },
    updated: updated.version,
    getActions: got.actions.map(a => a.name),
    bindingParameters: paramsObject(gotBinding.parameters),
    utilsActions,
    listed: list.map(p => p.name).sort(),
    notEmpty: { status: notEmpty.statusCode, error: notEmpty.error.error }
  }
})
