"""Document passwords against the real service: a password that HTTP could not carry back is
refused when it is set; wrong guesses back off per document; clients guessing passwords (each
guess a scrypt derivation) do not slow down everyone else's document calls."""
import statistics
import threading
import time

import pytest
import requests

PASSWORD = "right horse"


@pytest.fixture()
def api(service):
    return service.http + "/api"


def create(api, password):
    return requests.post(f"{api}/storage/documents", json={"password": password})


@pytest.mark.parametrize("password", [" leading", "trailing ", "\ttab", "nul\u0000inside", "line\nbreak", "bell\u0007"])
def test_a_password_a_header_cannot_carry_back_is_refused(api, password):
    refused = create(api, password)
    assert refused.status_code == 400, refused.text
    body = refused.json()
    assert body["code"] == -2113 and "sent back" in body["message"], body


def test_an_inner_space_round_trips(api):
    created = create(api, PASSWORD)
    assert created.status_code == 201, created.text
    uid = created.json()["uid"]
    assert requests.get(f"{api}/storage/documents/{uid}", headers={"DWT-DOC-PASSWORD": PASSWORD}).status_code == 200
    assert requests.delete(f"{api}/storage/documents/{uid}", headers={"DWT-DOC-PASSWORD": PASSWORD}).status_code == 204


def test_wrong_guesses_back_off(api):
    uid = create(api, PASSWORD).json()["uid"]
    url = f"{api}/storage/documents/{uid}"
    for attempt in range(6):
        wrong = requests.get(url, headers={"DWT-DOC-PASSWORD": f"guess {attempt}"})
        assert wrong.status_code == 403 and wrong.json()["code"] == -1043, (attempt, wrong.text)
    paused = requests.get(url, headers={"DWT-DOC-PASSWORD": "guess 6"})
    assert paused.status_code == 429, paused.text
    assert paused.json()["code"] == -1044 and "try again in" in paused.json()["message"]
    # The client that holds the right password (its key is known) is not shut out meanwhile.
    assert requests.get(url, headers={"DWT-DOC-PASSWORD": PASSWORD}).status_code == 200
    # The pause after the sixth failure is one second; the next failure doubles it.
    time.sleep(1.2)
    assert requests.get(url, headers={"DWT-DOC-PASSWORD": "guess 7"}).status_code == 403
    assert requests.get(url, headers={"DWT-DOC-PASSWORD": "guess 8"}).status_code == 429
    time.sleep(2.2)
    assert requests.get(url, headers={"DWT-DOC-PASSWORD": "guess 9"}).status_code == 403
    requests.delete(url, headers={"DWT-DOC-PASSWORD": PASSWORD})


def test_guessing_clients_do_not_slow_other_document_calls(api):
    targets = [create(api, PASSWORD).json()["uid"] for _ in range(12)]
    plain = requests.post(f"{api}/storage/documents", json={}).json()["uid"]
    stop = threading.Event()
    answers = []

    def guess(client):
        session = requests.Session()
        attempt = 0
        while not stop.is_set():
            uid = targets[(client + attempt) % len(targets)]
            answer = session.get(f"{api}/storage/documents/{uid}", headers={"DWT-DOC-PASSWORD": f"guess {client}-{attempt}"})
            answers.append(answer.status_code)
            attempt += 1

    guessers = [threading.Thread(target=guess, args=(client,)) for client in range(8)]
    for guesser in guessers:
        guesser.start()
    try:
        time.sleep(0.5)
        derivations_before = answers.count(403)
        session = requests.Session()
        durations = []
        for _ in range(20):
            began = time.monotonic()
            assert session.get(f"{api}/storage/documents/{plain}").status_code == 200
            durations.append(time.monotonic() - began)
            time.sleep(0.05)
        derivations = answers.count(403) - derivations_before
    finally:
        stop.set()
        for guesser in guessers:
            guesser.join(timeout=30)
    # The guessers kept the key derivation busy the whole time (eight guesses in flight; each
    # takes 0.1 s of a free core, several times that on a loaded machine) …
    assert derivations >= 2, (derivations, answers.count(403), answers.count(429))
    # … and a document call still took what it takes on an idle service, not a queue of scrypt runs
    # (with the derivations on the store's thread it waited about 0.1 s per guess in flight).
    assert statistics.median(durations) < 0.1, durations
    for uid in targets:
        requests.delete(f"{api}/storage/documents/{uid}", headers={"DWT-DOC-PASSWORD": PASSWORD})
    requests.delete(f"{api}/storage/documents/{plain}")
