"""`spa.txt` and SST-2 readers on small fixtures: formats, splits, bad input, checksummed downloads."""

import hashlib
import warnings
import zipfile

import pytest

from attention_layers.data import (
    ChecksumError,
    CorpusFormatError,
    MalformedLineWarning,
    RemoteArchive,
    load_spa_eng,
    load_sst2,
    read_spa_eng_pairs,
    spa_eng,
    split_indices_by_key,
    sst2,
)

ATTRIBUTION = "CC-BY 2.0 (France) Attribution: tatoeba.org #906328 (CK) & #1685404 (Elenitigormiti)"


def write(path, text):
    path.write_bytes(text.encode("utf-8"))
    return path


def test_two_and_three_column_lines_read_as_spanish_english_pairs(tmp_path):
    path = write(
        tmp_path / "spa.txt",
        f"Go.\tVe.\nRun!\t¡Corre!\t{ATTRIBUTION}\r\nWhere is it?\t¿Dónde está?\n",
    )
    assert read_spa_eng_pairs(path) == [
        ("Ve.", "Go."),
        ("¡Corre!", "Run!"),
        ("¿Dónde está?", "Where is it?"),
    ]


def test_malformed_lines_are_skipped_and_counted_in_one_warning(tmp_path):
    path = write(
        tmp_path / "spa.txt",
        "Go.\tVe.\nno tab here\n\tVacío.\nHi.\t \n\nHello.\tHola.\na\tb\tc\td\n",
    )
    with pytest.warns(MalformedLineWarning) as caught:
        pairs = read_spa_eng_pairs(path)
    assert pairs == [("Ve.", "Go."), ("Hola.", "Hello.")]
    assert len(caught) == 1
    message = str(caught[0].message)
    assert "skipped 5 malformed line(s)" in message
    assert f"{path}:2:" in message and "no tab here" in message


def test_a_clean_file_gives_no_warning(tmp_path):
    path = write(tmp_path / "spa.txt", "Go.\tVe.\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert read_spa_eng_pairs(path) == [("Ve.", "Go.")]


def test_strict_mode_raises_with_file_and_line_number(tmp_path):
    path = write(tmp_path / "spa.txt", "Go.\tVe.\nHi.\tHola.\nbroken line\n")
    with pytest.raises(
        CorpusFormatError, match=rf"{path}:3: expected 2 or 3 tab-separated columns"
    ):
        load_spa_eng(path, strict=True)
    write(path, "Go.\tVe.\nHi.\t\n")
    with pytest.raises(CorpusFormatError, match=rf"{path}:2: empty sentence"):
        load_spa_eng(path, strict=True)


def test_a_file_that_is_not_utf8_names_the_file_and_byte_offset(tmp_path):
    path = tmp_path / "spa.txt"
    path.write_bytes(b"Go.\tVe.\nHi.\tHola" + b"\xff.\n")
    with pytest.raises(
        CorpusFormatError, match=rf"{path}: not valid UTF-8 at byte offset 16 \(line 2\)"
    ):
        load_spa_eng(path)
    path.write_bytes("Go.\tVe.\n".encode("utf-16"))
    with pytest.raises(CorpusFormatError, match="byte offset 0 "):
        load_spa_eng(path)


def test_split_groups_translations_of_one_spanish_sentence(tmp_path):
    # 60 Spanish sentences, each with 3 English translations, plus case/spacing variants.
    lines = [f"Sentence {i} {variant}.\tFrase número {i}." for i in range(60) for variant in "abc"]
    lines += [f"Variant {i}.\tfrase  NÚMERO {i}." for i in range(60)]
    path = write(tmp_path / "spa.txt", "\n".join(lines) + "\n")
    corpus = load_spa_eng(path, validation_fraction=0.2, test_fraction=0.2)
    assert sum(len(corpus.split(name)) for name in ("train", "validation", "test")) == 240
    key_splits = {}
    for name in ("train", "validation", "test"):
        for spanish, _ in corpus.split(name):
            key_splits.setdefault(" ".join(spanish.lower().split()), set()).add(name)
    assert len(key_splits) == 60
    assert all(len(splits) == 1 for splits in key_splits.values())
    assert all(corpus.split(name) for name in ("train", "validation", "test"))
    assert load_spa_eng(path, validation_fraction=0.2, test_fraction=0.2) == corpus
    assert load_spa_eng(path, validation_fraction=0.2, test_fraction=0.2, seed=1) != corpus


def test_split_assignment_depends_only_on_key_and_seed():
    keys = [f"key {i}" for i in range(2000)]
    splits = split_indices_by_key(keys, validation_fraction=0.1, test_fraction=0.2, seed=3)
    assert sorted(splits["train"] + splits["validation"] + splits["test"]) == list(range(2000))
    assert 150 < len(splits["validation"]) < 250 and 330 < len(splits["test"]) < 470
    reversed_splits = split_indices_by_key(
        keys[::-1], validation_fraction=0.1, test_fraction=0.2, seed=3
    )
    assert {keys[i] for i in splits["test"]} == {keys[::-1][i] for i in reversed_splits["test"]}
    with pytest.raises(ValueError, match="sum below 1"):
        split_indices_by_key(keys, validation_fraction=0.5, test_fraction=0.5)


def write_sst2(directory):
    directory.mkdir()
    write(
        directory / "train.tsv",
        "sentence\tlabel\nhide new secretions from the parental units \t0\n"
        "it 's a charming journey \t1\n10\t1\nno tab here\n \t1\nbad label \t7\n",
    )
    write(directory / "dev.tsv", "sentence\tlabel\nit 's dull . \t0\n")
    write(
        directory / "test.tsv",
        "index\tsentence\n0\tuneasy mishmash of styles .\n1\ta poor -- if durable -- imitation .\n",
    )
    return directory


def test_sst2_layout_space_before_tab_and_unlabelled_test(tmp_path):
    directory = write_sst2(tmp_path / "SST-2")
    with pytest.warns(
        MalformedLineWarning, match=r"skipped 3 malformed line\(s\).*train.tsv:5: no tab"
    ):
        corpus = load_sst2(tmp_path)  # the parent of SST-2/ works too
    assert corpus.train == [
        ("hide new secretions from the parental units", 0),
        ("it 's a charming journey", 1),
        ("10", 1),
    ]
    assert corpus.validation == [("it 's dull .", 0)]
    assert corpus.test == [
        ("uneasy mishmash of styles .", None),
        ("a poor -- if durable -- imitation .", None),
    ]
    with pytest.raises(CorpusFormatError, match=r"train.tsv:5: no tab"):
        load_sst2(directory, strict=True)


def make_zip(path, members):
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in members.items():
            archive.writestr(name, text.encode("utf-8"))
    return path


def files_under(directory):
    return sorted(p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file())


def test_a_download_with_the_wrong_checksum_raises_and_caches_nothing(tmp_path, monkeypatch):
    zip_path = make_zip(tmp_path / "spa-eng.zip", {"spa-eng/spa.txt": "Go.\tVe.\n"})
    archive = RemoteArchive("spa-eng", zip_path.as_uri(), {"spa-eng/spa.txt": "0" * 64})
    monkeypatch.setattr(spa_eng, "SPA_ENG_ARCHIVE", archive)
    cache = tmp_path / "cache"
    with pytest.raises(
        ChecksumError, match=r"spa-eng/spa.txt has sha256 [0-9a-f]{64}, expected 0{64}"
    ):
        load_spa_eng(cache_dir=cache)
    assert files_under(cache) == []
    assert zip_path.exists()  # the origin is untouched


def test_a_download_that_is_not_a_zip_raises_and_caches_nothing(tmp_path, monkeypatch):
    not_a_zip = write(tmp_path / "error.html", "<html>Service unavailable</html>")
    archive = RemoteArchive("spa-eng", not_a_zip.as_uri(), {"spa-eng/spa.txt": "0" * 64})
    monkeypatch.setattr(spa_eng, "SPA_ENG_ARCHIVE", archive)
    with pytest.raises(ChecksumError, match="not the expected archive"):
        load_spa_eng(cache_dir=tmp_path / "cache")
    assert files_under(tmp_path / "cache") == []


def test_a_verified_download_is_cached_and_reused(tmp_path, monkeypatch):
    text = "Go.\tVe.\nHi.\tHola.\n"
    zip_path = make_zip(
        tmp_path / "spa-eng.zip", {"spa-eng/spa.txt": text, "spa-eng/_about.txt": "about"}
    )
    sha256 = hashlib.sha256(text.encode()).hexdigest()
    monkeypatch.setattr(
        spa_eng,
        "SPA_ENG_ARCHIVE",
        RemoteArchive("spa-eng", zip_path.as_uri(), {"spa-eng/spa.txt": sha256}),
    )
    cache = tmp_path / "cache"
    corpus = load_spa_eng(cache_dir=cache, validation_fraction=0, test_fraction=0)
    assert corpus.train == [("Ve.", "Go."), ("Hola.", "Hi.")]
    assert files_under(cache) == ["datasets/spa-eng/spa.txt"]  # the zip is not kept
    zip_path.unlink()  # a second load must not download
    assert load_spa_eng(cache_dir=cache, validation_fraction=0, test_fraction=0) == corpus


def test_a_damaged_cached_file_is_downloaded_again(tmp_path, monkeypatch):
    text = "Go.\tVe.\n"
    zip_path = make_zip(tmp_path / "spa-eng.zip", {"spa-eng/spa.txt": text})
    sha256 = hashlib.sha256(text.encode()).hexdigest()
    monkeypatch.setattr(
        spa_eng,
        "SPA_ENG_ARCHIVE",
        RemoteArchive("spa-eng", zip_path.as_uri(), {"spa-eng/spa.txt": sha256}),
    )
    cached = tmp_path / "cache" / "datasets" / "spa-eng" / "spa.txt"
    cached.parent.mkdir(parents=True)
    write(cached, "Go.\tVe")  # cut short
    assert load_spa_eng(
        cache_dir=tmp_path / "cache", validation_fraction=0, test_fraction=0
    ).train == [("Ve.", "Go.")]
    assert cached.read_text(encoding="utf-8") == text


def test_sst2_download_checks_every_file(tmp_path, monkeypatch):
    directory = write_sst2(tmp_path / "SST-2")
    members = {
        f"SST-2/{name}": (directory / name).read_text(encoding="utf-8")
        for name in ("train.tsv", "dev.tsv", "test.tsv")
    }
    zip_path = make_zip(tmp_path / "SST-2.zip", members)
    checksums = {name: hashlib.sha256(text.encode()).hexdigest() for name, text in members.items()}
    monkeypatch.setattr(sst2, "SST2_ARCHIVE", RemoteArchive("SST-2", zip_path.as_uri(), checksums))
    with pytest.warns(MalformedLineWarning):
        corpus = load_sst2(cache_dir=tmp_path / "cache")
    assert len(corpus.train) == 3 and corpus.validation == [("it 's dull .", 0)]

    wrong = {**checksums, "SST-2/dev.tsv": "f" * 64}
    monkeypatch.setattr(sst2, "SST2_ARCHIVE", RemoteArchive("SST-2", zip_path.as_uri(), wrong))
    with pytest.raises(ChecksumError, match="SST-2/dev.tsv has sha256"):
        load_sst2(cache_dir=tmp_path / "other-cache")
    assert files_under(tmp_path / "other-cache") == []
