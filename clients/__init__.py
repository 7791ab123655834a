"""The programs people use: enrol a person from a folder or a camera, and watch a camera live.

They keep the original framework's flags (`--ip-address`, `--person-id`, ...) and add `--api-url`,
`--api-key` and `--source`.
"""
