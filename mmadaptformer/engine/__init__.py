# Copyright (c) mmadaptformer contributors. All rights reserved.
