"""
=====================================
Expressions in ordinary photos
=====================================

Models trained on FER2013 take 48x48 grey faces, not photos.
:class:`~skfer.faces.FaceCropper` is the step in between: it finds the faces
of images of any size (OpenCV's Haar cascade, shipped with
``opencv-python-headless``: ``pip install 'skfer[photos]'``), crops them
FER2013-style, and composes with any fitted skfer classifier in a
scikit-learn pipeline. :func:`~skfer.faces.predict_photos` returns a table of
every face of many photos.

The classifier below is a tiny CNN trained for a few seconds on synthetic
faces, so its expressions are meaningless: the example shows the plumbing.
Load a model trained on FER2013 with :func:`skfer.load_model` for real ones.
"""

# %%
# One photo, one face
# -------------------
# scikit-image ships a photo with one face. ``crop`` returns the 48x48 faces
# as rows of 2304 grey levels, and what each row is: its source image, the
# face box in the photo's pixels, the detector's score and a status.
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.patches import Rectangle
from skimage.data import astronaut

from skfer.faces import FaceCropper

photo = astronaut()
faces, info = FaceCropper().crop([photo])
print(pd.DataFrame(info))

fig, (left, right) = plt.subplots(1, 2, figsize=(6, 3))
left.imshow(photo)
left.add_patch(
    Rectangle((info.x[0], info.y[0]), info.w[0], info.h[0], fill=False, color="y")
)
left.set_title("photo and face box")
right.imshow(faces[0].reshape(48, 48), cmap="gray", vmin=0, vmax=255)
right.set_title("48x48 crop")
for ax in (left, right):
    ax.set_axis_off()

# %%
# Several faces, a face at the edge, no face
# ------------------------------------------
# ``faces="all"`` returns every face, left to right. A face touching the image
# border is padded (``pad_mode``), never an error. An image without a face
# falls back to its centre (``on_missing="center"``, status ``"center"``) or
# gives no row (``"skip"``, status ``"no_face"``). Grey, RGB and RGBA arrays
# and image files of any size are all accepted; 48x48 images pass through.
two = np.hstack([photo, photo])
edge = photo[:, 180:]  # the face touches the left border
sky = np.full((200, 300, 3), (120, 160, 220), dtype=np.uint8)
images = [two, edge, sky]

faces, info = FaceCropper(faces="all", margin=0.2).crop(images)
print(pd.DataFrame(info)[["source", "face", "x", "y", "w", "h", "status"]])

fig, axes = plt.subplots(1, len(faces), figsize=(2 * len(faces), 2.3))
for face, ax, source, status in zip(faces, axes, info.source, info.status, strict=True):
    ax.imshow(face.reshape(48, 48), cmap="gray", vmin=0, vmax=255)
    ax.set_title(f"image {source}: {status}", fontsize=9)
    ax.set_axis_off()

# %%
# In a pipeline with a classifier
# -------------------------------
# With ``faces="largest"`` (the default) and the centre fallback the cropper
# returns exactly one row per image, so ``make_pipeline(FaceCropper(), clf)``
# predicts one expression per photo; ``crop_info_`` says which rows were
# guesses.
from sklearn.pipeline import make_pipeline

from skfer import FERCNNClassifier
from skfer.datasets import make_expressions

X, y = make_expressions(700, random_state=0)
clf = FERCNNClassifier(
    conv_filters=(8,) * 6, dense_units=(16,), epochs=2, random_state=0
).fit(X, y)

pipe = make_pipeline(FaceCropper(), clf)
print("labels:", pipe.predict(images))
print("statuses:", pipe[0].crop_info_.status)

# %%
# Every face of many photos, as a table
# -------------------------------------
# :func:`~skfer.faces.predict_photos` takes files, folders and arrays, calls the
# classifier once per batch of photos, and reports each face (with its
# probabilities) and each photo that has none or cannot be read, instead of
# failing the batch. :func:`skfer.video.predict_video` does the same for the
# frames of a video.
from skfer.faces import predict_photos

table = predict_photos(clf, images, as_frame=True)
print(table[["source", "face", "status", "expression", "proba_happy"]])

# %%
# From the command line
# ---------------------
# The same, for photos, folders, videos (every ``--step``-th frame) or a
# FER2013 CSV (written as an ``id,label`` submission)::
#
#     skfer predict cnn.joblib holiday-photos/ clip.mp4 --step 10 -o faces.csv
#     skfer predict cnn.joblib test.csv -o submission.csv
