// namespaces.list() and namespaces.get(): the latter GETs the actions, packages, triggers and rules
// of `_` in parallel and resolves only when all four answer.

import { ECHO, NS, assert, client, run, step } from './lib.mjs'

const ow = client()

run('namespaces', async () => {
  step('namespaces.list() is the caller\'s namespace')
  const list = await ow.namespaces.list()
  assert.deepEqual(list, [NS])

  step('an action and a package to be seen')
  await ow.actions.create({ name: 'a', kind: 'python:3', action: ECHO })
  await ow.packages.create({ name: 'p' })

  step('namespaces.get() resolves to {actions, packages, triggers, rules}')
  const got = await ow.namespaces.get()
  assert.deepEqual(Object.keys(got).sort(), ['actions', 'packages', 'rules', 'triggers'])
  assert.deepEqual(got.actions.map(a => [a.namespace, a.name]), [[NS, 'a']])
  assert.deepEqual(got.packages.map(p => [p.namespace, p.name]), [[NS, 'p']])
  assert.deepEqual(got.triggers, [])
  assert.deepEqual(got.rules, [])

  step('namespaces.get({namespace}) for each listed namespace resolves (as the client\'s own test does)')
  for (const namespace of list) await ow.namespaces.get({ namespace })

  step('clean up')
  await ow.actions.delete({ name: 'a' })
  await ow.packages.delete({ name: 'p' })

  return {
    list,
    get: { actions: got.actions.length, packages: got.packages.length, triggers: got.triggers, rules: got.rules }
  }
})
