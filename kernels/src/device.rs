//! The wgpu device: adapter choice, limits, error capture and blocking waits.

use std::sync::mpsc;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use crate::error::{GpuError, Result};

/// How long a single wait for the GPU may take before it counts as a hang. The software
/// driver needs minutes for the largest batches, so this is generous.
const DEFAULT_WAIT: Duration = Duration::from_secs(900);

/// One wgpu device and queue, with what the rest of the crate needs to know about them.
pub struct GpuContext {
    /// Kept alive so the adapter and device stay valid.
    _instance: wgpu::Instance,
    adapter: wgpu::Adapter,
    info: wgpu::AdapterInfo,
    limits: wgpu::Limits,
    /// The device all kernels run on.
    pub device: wgpu::Device,
    /// The device's only queue.
    pub queue: wgpu::Queue,
    wait_timeout: Duration,
}

impl std::fmt::Debug for GpuContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuContext")
            .field("adapter", &self.info.name)
            .field("device_type", &self.info.device_type)
            .field("backend", &self.info.backend)
            .finish()
    }
}

/// Lower is better: a real GPU first, software rasterisers last, and native APIs before GL
/// (whose compute support is the weakest).
fn rank(info: &wgpu::AdapterInfo) -> (u8, u8) {
    let ty = match info.device_type {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Other => 3,
        wgpu::DeviceType::Cpu => 4,
    };
    let backend = u8::from(info.backend == wgpu::Backend::Gl);
    (ty, backend)
}

impl GpuContext {
    /// Opens the best adapter there is; `Ok(None)` when the machine has no adapter at all.
    pub fn new() -> Result<Option<GpuContext>> {
        // GL is left out unless WGPU_BACKEND asks for it: probing EGL on a headless machine
        // only prints driver errors, and every GL adapter ranks below Vulkan ones anyway.
        let mut desc = wgpu::InstanceDescriptor::new_without_display_handle_from_env();
        desc.backends = wgpu::Backends::from_env().unwrap_or(wgpu::Backends::PRIMARY);
        let backends = desc.backends;
        let instance = wgpu::Instance::new(desc);
        let adapters = pollster::block_on(instance.enumerate_adapters(backends));
        let Some(adapter) = adapters
            .into_iter()
            .filter(|a| {
                a.get_downlevel_capabilities()
                    .flags
                    .contains(wgpu::DownlevelFlags::COMPUTE_SHADERS)
            })
            .min_by_key(|a| rank(&a.get_info()))
        else {
            return Ok(None);
        };
        let info = adapter.get_info();
        // The default limits are WebGPU's portable minimum (128 MiB buffers, 8 storage
        // buffers); ask for everything the adapter has so chunks can be as large as it allows.
        let limits = adapter.limits();
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("scrub"),
            required_features: wgpu::Features::empty(),
            required_limits: limits.clone(),
            experimental_features: wgpu::ExperimentalFeatures::default(),
            memory_hints: wgpu::MemoryHints::Performance,
            trace: wgpu::Trace::Off,
        }))
        .map_err(|e| GpuError::RequestDevice {
            adapter: info.name.clone(),
            message: e.to_string(),
        })?;
        // Anything not caught by an error scope is a bug in this crate; log it rather than
        // letting wgpu's default handler panic inside a library call.
        device.on_uncaptured_error(Arc::new(|e| tracing::error!("uncaptured wgpu error: {e}")));
        tracing::info!(
            adapter = %info.name,
            device_type = ?info.device_type,
            backend = ?info.backend,
            driver = %info.driver,
            max_binding = limits.max_storage_buffer_binding_size,
            max_buffer = limits.max_buffer_size,
            "GPU adapter chosen"
        );
        Ok(Some(GpuContext {
            _instance: instance,
            adapter,
            info,
            limits,
            device,
            queue,
            wait_timeout: DEFAULT_WAIT,
        }))
    }

    /// One context for the whole process (tests and benches share a device this way);
    /// `None` when there is no adapter or the device cannot be opened (logged once).
    pub fn shared() -> Option<Arc<GpuContext>> {
        static SHARED: OnceLock<Option<Arc<GpuContext>>> = OnceLock::new();
        SHARED
            .get_or_init(|| match GpuContext::new() {
                Ok(ctx) => ctx.map(Arc::new),
                Err(e) => {
                    tracing::warn!("no usable GPU: {e}");
                    None
                }
            })
            .clone()
    }

    /// Name of the adapter, e.g. `llvmpipe (LLVM 15.0.6, 256 bits)`.
    pub fn adapter_name(&self) -> &str {
        &self.info.name
    }

    /// Full adapter description.
    pub fn info(&self) -> &wgpu::AdapterInfo {
        &self.info
    }

    /// The limits the device was opened with (the adapter's own).
    pub fn limits(&self) -> &wgpu::Limits {
        &self.limits
    }

    /// The adapter the device was opened on.
    pub fn adapter(&self) -> &wgpu::Adapter {
        &self.adapter
    }

    /// True for CPU-emulated adapters (llvmpipe), whose best kernels differ from a GPU's.
    pub fn is_software(&self) -> bool {
        self.info.device_type == wgpu::DeviceType::Cpu
    }

    /// True for a discrete or integrated GPU.
    pub fn is_real_gpu(&self) -> bool {
        matches!(
            self.info.device_type,
            wgpu::DeviceType::DiscreteGpu | wgpu::DeviceType::IntegratedGpu
        )
    }

    /// Largest size one storage binding may have, in bytes.
    pub fn max_binding_bytes(&self) -> u64 {
        self.limits
            .max_storage_buffer_binding_size
            .min(self.limits.max_buffer_size)
    }

    /// Runs `f` with wgpu validation and out-of-memory errors captured and returned, naming
    /// `what` was being done.
    pub fn checked<T>(&self, what: &str, f: impl FnOnce() -> T) -> Result<T> {
        let oom = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let validation = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let out = f();
        let v = pollster::block_on(validation.pop());
        let o = pollster::block_on(oom.pop());
        match v.or(o) {
            Some(e) => Err(GpuError::Wgpu {
                what: what.to_string(),
                message: e.to_string(),
            }),
            None => Ok(out),
        }
    }

    /// Blocks until `submission` has finished on the GPU, or the wait timeout passes.
    pub fn wait(&self, submission: wgpu::SubmissionIndex, what: &str) -> Result<()> {
        self.device
            .poll(wgpu::PollType::Wait {
                submission_index: Some(submission),
                timeout: Some(self.wait_timeout),
            })
            .map(|_| ())
            .map_err(|e| GpuError::Wait {
                what: what.to_string(),
                message: e.to_string(),
            })
    }

    /// Copies `bytes` bytes from the start of a `MAP_READ` buffer to the host after
    /// `submission` (which must have written it) completes.
    pub fn read_mapped(
        &self,
        buffer: &wgpu::Buffer,
        bytes: u64,
        submission: wgpu::SubmissionIndex,
        what: &str,
    ) -> Result<Vec<u8>> {
        self.with_mapped(buffer, bytes, submission, what, <[u8]>::to_vec)
    }

    /// Runs `f` on the first `bytes` bytes of a `MAP_READ` buffer once `submission` (which
    /// must have written it) completes, without copying them first; unmaps afterwards.
    pub fn with_mapped<T>(
        &self,
        buffer: &wgpu::Buffer,
        bytes: u64,
        submission: wgpu::SubmissionIndex,
        what: &str,
        f: impl FnOnce(&[u8]) -> T,
    ) -> Result<T> {
        if bytes == 0 {
            self.wait(submission, what)?;
            return Ok(f(&[]));
        }
        let slice = buffer.slice(..bytes);
        let (tx, rx) = mpsc::channel();
        slice.map_async(wgpu::MapMode::Read, move |r| {
            // The receiver outlives the wait below; a send failure cannot happen.
            let _ = tx.send(r);
        });
        self.wait(submission, what)?;
        // The callback runs during the poll; if the submission finished but the callback has
        // not fired yet, one more blocking poll delivers it.
        let mapped = match rx.try_recv() {
            Ok(r) => r,
            Err(_) => {
                self.device
                    .poll(wgpu::PollType::Wait {
                        submission_index: None,
                        timeout: Some(self.wait_timeout),
                    })
                    .map_err(|e| GpuError::Wait {
                        what: what.to_string(),
                        message: e.to_string(),
                    })?;
                rx.recv_timeout(self.wait_timeout)
                    .map_err(|_| GpuError::Map {
                        what: what.to_string(),
                    })?
            }
        };
        mapped.map_err(|_| GpuError::Map {
            what: what.to_string(),
        })?;
        let out = {
            let view = slice.get_mapped_range().map_err(|e| GpuError::Wgpu {
                what: format!("mapping the readback buffer while {what}"),
                message: e.to_string(),
            })?;
            f(&view)
        };
        buffer.unmap();
        Ok(out)
    }
}

/// The shared context for tests. With no adapter: panics when `SCRUB_REQUIRE_GPU=1` (so a
/// CI machine that should have one fails loudly), otherwise prints why and returns `None`.
pub fn test_context() -> Option<Arc<GpuContext>> {
    let ctx = GpuContext::shared();
    if ctx.is_none() {
        if std::env::var("SCRUB_REQUIRE_GPU").is_ok_and(|v| v == "1") {
            panic!("SCRUB_REQUIRE_GPU=1 but no GPU adapter could be opened (is mesa-vulkan-drivers installed?)");
        }
        eprintln!("skipping: no GPU adapter (set SCRUB_REQUIRE_GPU=1 to make this a failure)");
    }
    ctx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_shared_device_with_the_adapters_full_limits() {
        let Some(ctx) = test_context() else { return };
        let again = GpuContext::shared().expect("the shared context exists once opened");
        assert!(Arc::ptr_eq(&ctx, &again));
        assert!(!ctx.adapter_name().is_empty());
        // The device must have been opened with the adapter's limits, not wgpu's defaults.
        let (dev, ad) = (ctx.device.limits(), ctx.adapter().limits());
        assert_eq!(
            dev.max_storage_buffer_binding_size,
            ad.max_storage_buffer_binding_size
        );
        assert_eq!(dev.max_buffer_size, ad.max_buffer_size);
        assert_eq!(
            dev.max_compute_workgroup_storage_size,
            ad.max_compute_workgroup_storage_size
        );
        assert!(ctx.max_binding_bytes() <= dev.max_storage_buffer_binding_size);
    }
}
