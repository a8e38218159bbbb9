/**
 * Marks unions of the OpenAPI document as discriminated (`oneOf` with a `discriminator`),
 * from the schemas themselves. Effect writes a union as `oneOf` only when it can prove its
 * members exclusive, and a string length check (UTF-16 units, where JSON Schema counts code
 * points) defeats that proof; the members of these unions each fix the property to one
 * distinct value, so they are exclusive, and saying so lets client generators make them
 * tagged unions. Nothing is written by hand: the mapping is read from the members.
 */
type Json = Record<string, unknown>

const isObject = (u: unknown): u is Json => typeof u === "object" && u !== null && !Array.isArray(u)

const componentName = (ref: string): string | undefined =>
  ref.startsWith("#/components/schemas/") ? ref.slice("#/components/schemas/".length) : undefined

// The one value a member fixes the property to (`enum: [v]` or `const: v`).
const fixedValue = (member: unknown, property: string): string | undefined => {
  if (!isObject(member) || !isObject(member["properties"])) return undefined
  const schema = member["properties"][property]
  if (!isObject(schema)) return undefined
  const values = Array.isArray(schema["enum"]) ? schema["enum"] : "const" in schema ? [schema["const"]] : []
  return values.length === 1 && typeof values[0] === "string" ? values[0] : undefined
}

/**
 * An OpenApi.Transform that makes each named component (a union of `$ref`s) a `oneOf` with a
 * discriminator on `property`; it throws (failing the document's generation, so every test
 * that serves it) when a member does not fix `property` to a value of its own.
 */
export const discriminate = (unions: Readonly<Record<string, string>>) => (spec: Json): Json => {
  const components = spec["components"]
  const schemas = isObject(components) && isObject(components["schemas"]) ? components["schemas"] : {}
  for (const [name, property] of Object.entries(unions)) {
    const union = schemas[name]
    if (!isObject(union)) throw new Error(`OpenAPI discriminator: no component ${name}`)
    const members = union["oneOf"] ?? union["anyOf"]
    if (!Array.isArray(members)) throw new Error(`OpenAPI discriminator: ${name} is not a union`)
    const mapping: Record<string, string> = {}
    for (const member of members) {
      const ref = isObject(member) && typeof member["$ref"] === "string" ? member["$ref"] : undefined
      const target = ref === undefined ? undefined : componentName(ref)
      const value = target === undefined ? undefined : fixedValue(schemas[target], property)
      if (ref === undefined || value === undefined || Object.hasOwn(mapping, value)) {
        throw new Error(`OpenAPI discriminator: a member of ${name} does not fix ${property} to a value of its own`)
      }
      mapping[value] = ref
    }
    delete union["anyOf"]
    union["oneOf"] = members
    union["discriminator"] = { propertyName: property, mapping }
  }
  return spec
}
