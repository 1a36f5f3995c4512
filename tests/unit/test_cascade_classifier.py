"""The intent classifier: counts first, the sentence embedding only for what the counts are unsure of."""

import numpy as np
import pytest
import scipy.sparse
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer
from rasa.nlu.tokenizers.jieba_tokenizer import JiebaTokenizer
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from common.conversation import NEIGHBOURS_KEY
from pipeline.cascade import CascadeIntentClassifier, LinearModel, Neighbours
from pipeline.sentence_embeddings import embed, embed_with_cache

EXAMPLES = {
    "withdrawal": ["提现没到账", "提现一直不到账", "提现几天了还没到账", "提现到银行卡没到账"],
    "phone_dead": ["手机开不了机", "手机开机没反应", "手机黑屏开不了机", "手机充电也开不了机"],
    "greet": ["你好", "您好", "在吗", "你好在吗"],
}
# Shares no word with the withdrawal examples: only its meaning is near them.
PARAPHRASE = "钱转出去一直没到"


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Trains tokenizer, counts and cascade like `rasa train` does; returns a loader for the stored model."""
    storage = LocalModelStorage(tmp_path_factory.mktemp("model"))
    context = ExecutionContext(GraphSchema({}), "test")
    tokenizer = JiebaTokenizer.create(JiebaTokenizer.get_default_config(), storage, Resource("jieba"), context)
    counts = CountVectorsFeaturizer.create(
        CountVectorsFeaturizer.get_default_config(), storage, Resource("counts"), context)
    data = TrainingData([Message({TEXT: text, INTENT: intent}) for intent, texts in EXAMPLES.items() for text in texts])
    tokenizer.process_training_data(data)
    counts.train(data)
    counts.process_training_data(data)
    cache = tmp_path_factory.mktemp("embeddings")

    def load(**config):
        resource = Resource("cascade")
        settings = {**CascadeIntentClassifier.get_default_config(), "embedding_cache": str(cache), **config}
        CascadeIntentClassifier.create(settings, storage, resource, context).train(data)
        classifier = CascadeIntentClassifier.load(settings, storage, resource, context)

        def parse(text):
            (message,) = tokenizer.process([Message({TEXT: text})])
            counts.process([message])
            classifier.process([message])
            return message

        return parse

    return load


def test_a_paraphrase_without_shared_words_is_understood_by_meaning(trained):
    parse = trained()
    message = parse(PARAPHRASE)
    assert message.get(INTENT)["name"] == "withdrawal"
    assert [r["name"] for r in message.get("intent_ranking")][0] == "withdrawal"


def test_the_counts_alone_do_not_understand_the_paraphrase(trained):
    # A classifier that always trusts the counts (never embeds) misses it: the cascade must embed it.
    parse = trained(sure=0.0)
    assert parse(PARAPHRASE).get(INTENT)["name"] != "withdrawal"


def test_a_long_message_is_read_by_meaning_however_sure_the_counts_are(trained):
    # The vote of the one nearest example as the whole answer gives confidence 1.0: the mark of an embedded
    # message. The counts model answers every message it is sure of (sure=0), unless it is long.
    parse = trained(sure=0.0, neighbour_weight=1.0, neighbours=1)
    story = "，".join([PARAPHRASE] * 5)  # 44 characters: a customer's story rather than a question
    assert parse(story).get(INTENT) == {"name": "withdrawal", "confidence": 1.0}
    assert parse(PARAPHRASE).get(INTENT)["confidence"] < 1.0
    counts_alone = trained(sure=0.0, sure_up_to_length=1000, neighbour_weight=1.0, neighbours=1)
    assert counts_alone(story).get(INTENT)["confidence"] < 1.0


@pytest.mark.parametrize(
    ("text", "intent"), [("提现没到账", "withdrawal"), ("手机开不了机", "phone_dead"), ("你好", "greet")]
)
def test_training_words_are_understood_whichever_model_answers(trained, text, intent):
    for sure in (0.0, 0.9, 1.1):  # counts always, the cascade, the embedding always
        assert trained(sure=sure)(text).get(INTENT)["name"] == intent


def test_the_nearest_example_by_meaning_votes_for_the_paraphrase(trained):
    # With the vote as the whole answer and one voter, the nearest training example decides alone.
    message = trained(sure=1.1, neighbour_weight=1.0, neighbours=1)(PARAPHRASE)
    assert message.get(INTENT) == {"name": "withdrawal", "confidence": 1.0}


def test_an_embedded_messages_ranking_says_how_far_the_nearest_examples_agree(trained):
    # One voter: all of the vote goes to the nearest example's intent (猜你想问 reads it: common/hedge.py).
    ranking = trained(sure=1.1, neighbours=1)(PARAPHRASE).get("intent_ranking")
    assert {r["name"]: r[NEIGHBOURS_KEY] for r in ranking} == {"withdrawal": 1.0, "phone_dead": 0.0, "greet": 0.0}
    counts_alone = trained(sure=0.0)(PARAPHRASE).get("intent_ranking")
    assert not any(NEIGHBOURS_KEY in r for r in counts_alone)


def test_the_vote_weights_the_nearest_example_most():
    examples = np.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0]], dtype=np.float32)  # unit vectors
    neighbours = Neighbours(examples, np.array([0, 1, 2]))
    votes = neighbours.vote(np.array([[0.96, 0.28]], dtype=np.float32), n_classes=3, k=2, temperature=0.01)
    # The two nearest are examples 1 (similarity 0.936) and 0 (0.96): only they vote, the nearer most.
    assert votes[0, 2] == 0 and votes[0, 0] > votes[0, 1] > 0
    assert votes.sum() == pytest.approx(1.0)


def test_the_regression_is_the_one_scikit_learn_fits_on_the_blocks_stacked():
    """The classifier fits sparse counts and dense vectors side by side; the result must be scikit-learn's
    LogisticRegression(class_weight="balanced") on the stacked matrix, which the thresholds were tuned on."""
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(7)
    intents = list(rng.choice(["a", "b", "c", "d"], size=120, p=[0.4, 0.3, 0.2, 0.1]))
    counts = scipy.sparse.random(120, 50, density=0.1, format="csr", random_state=7)
    vectors = rng.normal(size=(120, 8)) + np.searchsorted(["a", "b", "c", "d"], intents)[:, None]
    ours = LinearModel.fit([counts, vectors], intents, np.array(["a", "b", "c", "d"]), max_iter=1000, tol=1e-8)
    stacked = scipy.sparse.hstack([counts, vectors]).tocsr()
    reference = LogisticRegression(class_weight="balanced", max_iter=1000, tol=1e-8).fit(stacked, intents)
    np.testing.assert_allclose(ours.probabilities(counts, vectors), reference.predict_proba(stacked), atol=1e-5)


def test_the_ranking_has_every_intent_once_with_probabilities(trained):
    ranking = trained()("手机充不进电").get("intent_ranking")
    assert sorted(r["name"] for r in ranking) == sorted(EXAMPLES)
    assert sum(r["confidence"] for r in ranking) == pytest.approx(1.0)
    assert ranking == sorted(ranking, key=lambda r: -r["confidence"])


def test_cached_training_embeddings_are_the_embeddings_and_only_new_texts_are_added(tmp_path):
    texts = ["提现没到账", "手机开不了机"]
    first = embed_with_cache(texts, tmp_path)
    assert np.allclose(first, embed(texts), atol=1e-5)
    (cache_file,) = tmp_path.iterdir()
    again = embed_with_cache([*texts, "你好", "提现没到账"], tmp_path)
    assert np.allclose(again[:2], first) and np.allclose(again[3], first[0])
    with np.load(cache_file) as stored:
        assert len(stored["keys"]) == 3  # each text once
    assert list(tmp_path.iterdir()) == [cache_file]  # no partial file left behind


def test_a_short_message_served_again_is_not_embedded_again_and_gets_the_same_vector(monkeypatch):
    import pipeline.sentence_embeddings as sentence_embeddings

    embedded = []
    real_embed = sentence_embeddings.embed
    monkeypatch.setattr(sentence_embeddings, "embed", lambda texts: embedded.extend(texts) or real_embed(texts))
    monkeypatch.setattr(sentence_embeddings, "_short_text_vectors", type(sentence_embeddings._short_text_vectors)())
    story = "我昨天在网上买了一部手机，今天收到发现屏幕有划痕，客服一直不回复，我想退货怎么办"  # longer than 16
    first = sentence_embeddings.embed_messages(["你好", story])
    again = sentence_embeddings.embed_messages(["转人工", "你好", story])
    assert embedded == ["你好", story, "转人工", story]  # 你好 once; the story each time
    np.testing.assert_array_equal(again[1], first[0])
    np.testing.assert_allclose(again[1], real_embed(["你好"])[0])
    np.testing.assert_allclose(again[2], first[1])


def test_a_prior_factor_makes_an_intent_that_many_times_likelier(trained):
    plain = {r["name"]: r["confidence"] for r in trained()("手机充不进电").get("intent_ranking")}
    ranking = trained(prior_factors={"greet": 3.0})("手机充不进电").get("intent_ranking")
    weighted = {r["name"]: r["confidence"] for r in ranking}
    assert sum(weighted.values()) == pytest.approx(1.0)
    assert weighted["greet"] / weighted["phone_dead"] == pytest.approx(3.0 * plain["greet"] / plain["phone_dead"])
