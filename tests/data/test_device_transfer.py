"""Batches reach the training device: as before on the CPU, through pinned memory on a GPU."""
import numpy as np
import paddle
import pytest

from inade.data.loader import DeviceTransfer


def test_on_the_cpu_batches_become_tensors_as_before():
    to_device = DeviceTransfer("cpu")
    assert not to_device.pinned
    for array in (np.arange(12, dtype=np.int64).reshape(3, 4), np.linspace(-1, 1, 6, dtype=np.float32)):
        tensor = to_device(array)
        assert tensor.place.is_cpu_place() and tensor.dtype == paddle.to_tensor(array).dtype
        np.testing.assert_array_equal(tensor.numpy(), array)


def test_the_device_is_paddles_current_one_unless_given():
    assert DeviceTransfer().device == paddle.device.get_device()
    assert DeviceTransfer("gpu:1").pinned and not DeviceTransfer("cpu").pinned


@pytest.mark.gpu
def test_on_a_gpu_batches_go_through_pinned_memory():
    to_device = DeviceTransfer("gpu:0")
    array = np.random.default_rng(0).standard_normal((2, 3, 8, 8)).astype(np.float32)
    to_device.new_batch()
    tensor = to_device(array)
    assert tensor.place.is_gpu_place() and len(to_device._in_flight) == 1
    assert to_device._in_flight[0].place.is_cuda_pinned_place()
    np.testing.assert_array_equal(tensor.numpy(), array)
    to_device.new_batch()
    assert to_device._in_flight == []
