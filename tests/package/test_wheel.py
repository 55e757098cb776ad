"""The spacy-cbio wheel carries the NER configs and registers what they name."""
import zipfile

EXPECTED_CONFIGS = {"base.cfg", "head_transition.cfg", "features_stacked.cfg", "cnn.cfg", "profiles/tiny.cfg", "profiles/small.cfg", "profiles/paper.cfg"}


def test_wheel_ships_ner_configs_and_entry_points(own_wheel):
    with zipfile.ZipFile(own_wheel) as wheel:
        names = wheel.namelist()
        (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
        entry_points = wheel.read(entry_points).decode("utf8")
    prefix = "spacy_cbio/configs/ner/"
    assert {n[len(prefix):] for n in names if n.startswith(prefix)} == EXPECTED_CONFIGS
    assert "spacy_cbio.warmup_linear_ratio.v1 = spacy_cbio.train.schedules:warmup_linear_ratio" in entry_points
    assert "spacy_cbio.seqeval_scorer.v1 = spacy_cbio.components.scorer:make_seqeval_scorer" in entry_points
    assert "cbio_token_ner = spacy_cbio.components.token_ner:make_token_ner" in entry_points
    assert "cbio_quantize_int8 = spacy_cbio.components.quantize:make_int8_quantizer" in entry_points
    assert "spacy_cbio.StackedFeatures.v1 = spacy_cbio.components.features:build_stacked_features" in entry_points


def test_int8_package_quantizes_on_first_run(tiny_pipeline, tmp_path):
    """`package --int8`: fr_<name>_int8, whose first component quantizes the transformer when it runs."""
    import spacy
    from typer.testing import CliRunner

    from spacy_cbio.__main__ import app

    out = tmp_path / "packages"
    result = CliRunner().invoke(app, ["package", str(tiny_pipeline), str(out), "--dataset", "quaero", "--name", "cbio_ner_tiny",
                                      "--int8", "--no-measure", "--code-wheel", "none"])
    assert result.exit_code == 0, result.output
    wheel = next(out.glob("fr_cbio_ner_tiny_int8-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(tmp_path / "site")
        (meta_name,) = [n for n in archive.namelist() if n.endswith("/meta.json") and n.count("/") == 2]
        readme = next(archive.read(n).decode("utf8") for n in archive.namelist() if n.endswith("/README.md"))
    nlp = spacy.load(tmp_path / "site" / meta_name.rsplit("/", 1)[0])
    assert nlp.pipe_names[0] == "cbio_quantize_int8" and nlp.meta["name"] == "cbio_ner_tiny_int8"
    nlp("Le patient a une fièvre .")
    assert nlp.get_pipe("cbio_quantize_int8").n_quantized > 0
    assert "int8: `cbio_quantize_int8` quantizes" in readme and "Not measured" in readme
    assert (tiny_pipeline / "meta.json").is_file()  # the trained folder is left as it was
