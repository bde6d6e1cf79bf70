"""``python -m devtools.fake_arm.write_schema [--check]``: rewrite (or only check) ``published_schema.json``.

Run it after upgrading ``azure-ai-ml`` or ``azure-mgmt-authorization``; the schema is derived from
their generated models by ``devtools.fake_arm.published``.
"""

from devtools.fake_arm.published import main

if __name__ == "__main__":
    raise SystemExit(main())
