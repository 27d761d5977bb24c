"""The one place that papers over library-version gaps.

scikeras 0.13 (its last release) predates scikit-learn 1.6's tag system: a
``KerasClassifier`` reports ``estimator_type=None``, so ``is_classifier`` is
False, ``VotingClassifier``/``StackingClassifier`` reject it and
cross-validation is not stratified. ``class X(ClassifierMixin,
KerasClassifier)`` does not resolve (MRO error), so our base class overrides
``__sklearn_tags__`` with :func:`classifier_tags`. Delete this module when
scikeras (or ``keras.wrappers``) reports correct tags.
"""

from __future__ import annotations

from sklearn.utils import ClassifierTags, Tags

__all__ = ["classifier_tags"]


def classifier_tags(tags: Tags) -> Tags:
    """Turn the default tags of a scikeras wrapper into a classifier's tags.

    Parameters
    ----------
    tags : sklearn.utils.Tags
        Tags as returned by ``BaseEstimator.__sklearn_tags__``.

    Returns
    -------
    tags : sklearn.utils.Tags
        The same object, marked as a single-label multi-class classifier that
        requires ``y``.
    """
    tags.estimator_type = "classifier"
    # a neural network trained for a few epochs on the tiny data sets of
    # scikit-learn's common checks is not expected to reach their accuracy bar
    tags.classifier_tags = ClassifierTags(poor_score=True, multi_label=False)
    tags.regressor_tags = None
    tags.target_tags.required = True
    tags.non_deterministic = False
    return tags
