"""Case files: YAML with lines, schema and semantic checks, the typed case model, `${...}` templating."""
