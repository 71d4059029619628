"""One package per feature: ``bp`` in ``__init__``, views in ``views.py``, forms in ``forms.py``."""
