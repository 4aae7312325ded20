"""The SQL of compiled trusted documents (schema/compiled.py builds the plans): one statement
per root field, built from the same policy predicates (`resolvers.policy`) as the resolvers
the executor calls, so that a compiled answer cannot see more or less than the executor's."""
