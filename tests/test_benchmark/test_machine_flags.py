# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The training benchmark records, and its title prints, the CPU flags that
decide how fast it runs float32 and bfloat16 matmuls.

Two JSONs of two CPU machines said only the model name (``AMD EPYC``,
``Intel(R) Xeon(R) Processor``) and the cores: whether a ``bf16`` row ran
on native bfloat16 dot products (AVX512-BF16, AMX) or emulated them, which
swings it from 1.7x faster than float32 to far slower, was not in them.
"""
from mmadaptformer.benchmark import cpu_info, summary_title


def _cpuinfo(tmp_path, flags):
    path = tmp_path / 'cpuinfo'
    path.write_text('processor\t: 0\nmodel name\t: Test CPU 9000\n'
                    f'flags\t\t: fpu sse2 {flags}\n\n')
    return str(path)


def test_cpu_info_records_the_matmul_flags(tmp_path):
    info = cpu_info(_cpuinfo(tmp_path, 'avx2 avx512f avx512_bf16 amx_tile'))
    assert info['cpu'] == 'Test CPU 9000'
    assert info['matmul_flags'] == ['AVX2', 'AVX512', 'AVX512-BF16']
    info = cpu_info(
        _cpuinfo(tmp_path, 'amx_bf16 avx512_bf16 avx512f avx2 fma'))
    assert info['matmul_flags'] == [
        'AVX2', 'AVX512', 'AVX512-BF16', 'AMX-BF16'
    ]
    assert cpu_info(_cpuinfo(tmp_path, ''))['matmul_flags'] == []
    missing = cpu_info(str(tmp_path / 'none'))
    assert missing['cpu'] is None and missing['matmul_flags'] is None


def _title(machine):
    run = dict(threads=1, gpu=None)
    return summary_title(
        dict(
            config='configs/x.py',
            machine=machine,
            settings=dict(
                batch_size=4, sample_shape=[3, 32, 32], device='cpu',
                repeat=1),
            modes={'adaptformer': dict(runs=[run])}))


def test_the_title_names_the_matmul_flags():
    assert _title(
        dict(cpu='AMD EPYC', cores=2, matmul_flags=['AVX2'])
    ) == 'x.py: batch 4 x (3, 32, 32), cpu (AMD EPYC, AVX2, 2 cores, 1 ' \
        'thread(s)), 1 round(s)'
    assert 'cpu (Xeon, no AVX2, 2 cores' in _title(
        dict(cpu='Xeon', cores=2, matmul_flags=[]))
    # A JSON of an earlier version, without the record.
    assert 'cpu (AMD EPYC, 2 cores' in _title(dict(cpu='AMD EPYC', cores=2))
