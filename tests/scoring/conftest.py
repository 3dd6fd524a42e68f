from pathlib import Path

import pytest

from tests.scoring.model_fixtures import TrainedModel, train_small_model


@pytest.fixture(scope="session")
def trained_model(tmp_path_factory: pytest.TempPathFactory) -> TrainedModel:
    return train_small_model(Path(tmp_path_factory.mktemp("models")))


@pytest.fixture(scope="session")
def other_trained_model(tmp_path_factory: pytest.TempPathFactory) -> TrainedModel:
    return train_small_model(Path(tmp_path_factory.mktemp("models-b")), seed=12, trees=40)
