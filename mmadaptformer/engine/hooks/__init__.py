# Copyright (c) mmadaptformer contributors. All rights reserved.
from .adapter_hook import AdapterHook

__all__ = ['AdapterHook']
