"""`flask backup` and `flask restore` say what went wrong, without a traceback, and exit non-zero."""


def test_backup_into_a_missing_directory_is_a_clear_error(app, tmp_path):
    file = tmp_path / "nowhere" / "b.zip"
    result = app.test_cli_runner().invoke(args=["backup", str(file)])
    assert result.exit_code == 1 and result.exc_info[0] is SystemExit
    assert f"cannot write {file}: no such directory" in result.output
    assert not file.parent.exists()


def test_restore_of_a_damaged_file_is_a_clear_error(app, tmp_path):
    file = tmp_path / "b.zip"
    runner = app.test_cli_runner()
    assert runner.invoke(args=["backup", str(file)]).exit_code == 0
    file.write_bytes(file.read_bytes()[:100])
    result = runner.invoke(args=["restore", str(file)])
    assert result.exit_code == 1 and result.exc_info[0] is SystemExit
    assert f"Error: cannot read {file}" in result.output and "Traceback" not in result.output
