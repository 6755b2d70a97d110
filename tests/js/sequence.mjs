// A sequence through a package binding and the public /whisk.system/utils/sort, and a direct
// invocation of /whisk.system/utils/sort from the user's namespace.

import { NS, annotation, assert, client, eventually, paramsObject, rejects, run, step } from './lib.mjs'

const ow = client()

// Appends the (package or binding) parameter `extra` to the input lines.
const APPEND = 'def main(args):\n    return {"lines": args.get("lines", []) + [args["extra"]]}\n'
const FAIL = 'def main(args):\n    return {"error": "boom"}\n'
const ACTIVATION_ID = /^[0-9a-f]{32}$/

run('sequence', async () => {
  step('invoke /whisk.system/utils/sort from the user\'s namespace (blocking, result)')
  const sortResult = await ow.actions.invoke({
    name: '/whisk.system/utils/sort', blocking: true, result: true, params: { lines: ['b', 'a', 'C', 10, 9, 1] }
  })
  // JavaScript's default sort: by string form, upper case before lower case.
  assert.deepEqual(sortResult, { lines: [1, 10, 9, 'C', 'a', 'b'], length: 6 })

  step('invoke /whisk.system/utils/sort, whole record: it runs in the caller\'s namespace')
  const sortRecord = await ow.actions.invoke({
    name: '/whisk.system/utils/sort', blocking: true, params: { lines: ['y', 'x'] }
  })
  assert.equal(sortRecord.response.success, true)
  assert.deepEqual(sortRecord.response.result, { lines: ['x', 'y'], length: 2 })
  assert.equal(sortRecord.namespace, NS)
  assert.equal(sortRecord.name, 'sort')
  assert.equal(annotation(sortRecord, 'path'), 'whisk.system/utils/sort')

  step('create package p (extra=package), action p/append and binding bind -> p (extra=binding)')
  await ow.packages.create({ name: 'p', package: { parameters: [{ key: 'extra', value: 'package' }] } })
  await ow.actions.create({ name: 'p/append', kind: 'python:3', action: APPEND })
  await ow.actions.create({ name: 'p/fail', kind: 'python:3', action: FAIL })
  await ow.packages.create({
    name: 'bind',
    package: { binding: { namespace: NS, name: 'p' }, parameters: [{ key: 'extra', value: 'binding' }] }
  })

  step('actions.create of the sequence with fully qualified components')
  const components = [`/${NS}/bind/append`, '/whisk.system/utils/sort']
  const seq = await ow.actions.create({ name: 's', sequence: components })
  assert.equal(seq.name, 's')
  assert.equal(seq.namespace, NS)
  assert.equal(seq.exec.kind, 'sequence')
  assert.deepEqual(seq.exec.components, components)
  assert.deepEqual(paramsObject(seq.parameters), { _actions: components })
  assert.equal(annotation(seq, 'exec'), 'sequence')

  step('actions.get of the sequence')
  const gotSeq = await ow.actions.get({ name: 's' })
  assert.deepEqual(gotSeq.exec.components, components)

  step('actions.invoke of the sequence (blocking)')
  const record = await ow.actions.invoke({ name: 's', params: { lines: ['zebra', 'apple'] }, blocking: true })
  assert.equal(record.response.success, true, JSON.stringify(record.response))
  assert.equal(record.response.status, 'success')
  // The binding's `extra` beats the package's; sort sees the first component's result.
  assert.deepEqual(record.response.result, { lines: ['apple', 'binding', 'zebra'], length: 3 })
  assert.equal(record.namespace, NS)
  assert.equal(record.name, 's')
  assert.equal(record.cause, undefined)
  assert.equal(annotation(record, 'topmost'), true)
  assert.equal(annotation(record, 'kind'), 'sequence')
  assert.equal(annotation(record, 'path'), `${NS}/s`)

  step('the sequence record\'s logs hold one activation id per component')
  assert.equal(record.logs.length, components.length, JSON.stringify(record.logs))
  for (const id of record.logs) assert.match(id, ACTIVATION_ID)
  assert.notEqual(record.logs[0], record.logs[1])

  step('activations.get of each component: cause is the sequence\'s activation id')
  const parts = []
  for (const id of record.logs) {
    parts.push(await eventually(() => ow.activations.get({ name: id })))
  }
  let duration = 0
  for (const part of parts) {
    assert.equal(part.cause, record.activationId, `component ${part.activationId} has cause ${part.cause}`)
    assert.equal(part.namespace, NS)
    assert.equal(annotation(part, 'causedBy'), 'sequence')
    assert.equal(part.response.success, true)
    duration += part.duration
  }
  assert.equal(parts[0].name, 'append')
  assert.equal(annotation(parts[0], 'path'), `${NS}/p/append`)
  assert.equal(annotation(parts[0], 'binding'), `${NS}/bind`)
  assert.deepEqual(parts[0].response.result, { lines: ['zebra', 'apple', 'binding'] })
  assert.equal(parts[1].name, 'sort')
  assert.equal(annotation(parts[1], 'path'), 'whisk.system/utils/sort')
  assert.deepEqual(parts[1].response.result, record.response.result)

  step('the sequence\'s duration is the sum of its components\'')
  assert.equal(record.duration, duration)

  step('activations.get of the sequence record')
  const stored = await eventually(() => ow.activations.get({ name: record.activationId }))
  assert.deepEqual(stored.logs, record.logs)

  step('actions.invoke of the sequence (blocking, result)')
  const result = await ow.actions.invoke({ name: 's', params: { lines: ['b'] }, blocking: true, result: true })
  assert.deepEqual(result, { lines: ['b', 'binding'], length: 2 })

  step('a sequence whose first component fails stops there with 502 and the component\'s error')
  await ow.actions.create({ name: 'f', sequence: [`/${NS}/p/fail`, '/whisk.system/utils/sort'] })
  const failed = await rejects(ow.actions.invoke({ name: 'f', blocking: true }), 502)
  assert.match(failed.message, /--> "boom"$/)
  assert.equal(failed.error.response.status, 'application error')
  assert.deepEqual(failed.error.response.result, { error: 'boom' })
  assert.equal(failed.error.logs.length, 1)

  step('clean up')
  await ow.actions.delete([{ name: 's' }, { name: 'f' }, { name: 'p/append' }, { name: 'p/fail' }])
  await ow.packages.delete({ name: 'bind' })
  await ow.packages.delete({ name: 'p' })

  return {
    utilsSort: sortResult,
    sequence: {
      activationId: record.activationId,
      result: record.response.result,
      logs: record.logs,
      causes: parts.map(p => p.cause),
      duration: record.duration
    },
    failed: { status: failed.statusCode, result: failed.error.response.result, logs: failed.error.logs.length }
  }
})
