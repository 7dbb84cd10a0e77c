"""`flask backup FILE` into a place it cannot write says so, without a traceback."""


def test_backup_into_a_missing_directory_is_a_clear_error(app, tmp_path):
    file = tmp_path / "nowhere" / "b.zip"
    result = app.test_cli_runner().invoke(args=["backup", str(file)])
    assert result.exit_code == 1 and result.exc_info[0] is SystemExit
    assert f"cannot write {file}: no such directory" in result.output
    assert not file.parent.exists()
