import ArgumentParser
import Foundation
import OPTKernels
import OPTModel

/// `optiml speed-gemm`: the matrix products of an opt-125m forward, per weight format and kernel path.
struct GemmSpeed: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "speed-gemm",
        abstract: "Time the matrix products of prefill, the lm_head and batched decode per weight format and kernel path.",
        discussion: """
        Shapes are opt-125m's (hidden 768, ffn 3072, vocabulary 50272), written inputs × output rows × input columns. \
        Each format runs on every path this processor has for it (f32: oneDNN or BLAS; int8: AVX-512 VNNI \
        through oneDNN or our kernel, AVX2 through oneDNN, or f32 tiles through oneDNN or BLAS; bf16: AVX512-BF16, through oneDNN or our kernel, or f32 \
        tiles through oneDNN or BLAS; int4: AVX-512 VNNI or the AVX2 kernel); batches up to 16 inputs use the matrix-vector kernels unless \
        a unit GEMM takes them. Figures are the median of --repeat runs after 0.1 s of warm-up.
        """)

    @OptionGroup var threadOptions: ThreadOptions
    var threads: Int? { threadOptions.threads }
    @Option(name: .customLong("repeat"), help: "Timed runs per measurement (median reported).") var repeats = 5

    func validate() throws {
        if repeats < 1 { throw ValidationError("--repeat must be at least 1") }
    }

    static let shapes: [(name: String, m: Int, rows: Int, cols: Int)] = [
        ("prefill q/k/v/out_proj", 512, 768, 768), ("prefill fc1", 512, 3072, 768), ("prefill fc2", 512, 768, 3072),
        ("lm_head, every position", 512, 50272, 768), ("lm_head, 32 positions", 32, 50272, 768),
        ("batched decode q/k/v/out_proj", 8, 768, 768), ("batched decode fc1", 8, 3072, 768),
    ]

    func run() throws {
        let pool = ComputePool(threads: threads)
        print(KernelPath.report)
        let peaks = UnitPeak.measure(pool: pool)
        for peak in peaks {
            print("\(peak.unit.rawValue) peak".padding(toLength: 17, withPad: " ", startingAt: 0)
                  + String(format: " %.0f GOP/s (%@ on %d threads)", peak.operationsPerSecond / 1e9, peak.instruction, pool.threads))
        }
        print("shape  m×rows×cols  dtype  path  ms  GFLOP/s  share of its unit's peak")
        defer {
            KernelPath.useUnitGEMMs()
            KernelPath.useOneDNN(true)
        }
        for shape in Self.shapes {
            var state: UInt64 = 1
            let weights = (0..<(shape.rows * shape.cols)).map { _ -> Float in
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                return Float(Int64(bitPattern: state) >> 40) / Float(1 << 23) * 0.05
            }
            let x = (0..<(shape.m * shape.cols)).map { Float(($0 * 7919) % 2001 - 1000) / 1000 }
            let y = AlignedBuffer(byteCount: shape.m * shape.rows * 4)
            let scratch = AlignedBuffer(byteCount: pool.threads * WeightMatrix.tileRows * shape.cols * 4)
            let quantized = AlignedBuffer(byteCount: WeightMatrix.quantizedBytes(count: shape.m, cols: shape.cols))
            // Switching the int8 GEMM off leaves AVX2's int4 kernels as they were: each kernel once.
            var int4Kernels: Set<String> = []
            for format in [WeightFormat.f32, .bf16, .int8, .int4] {
                let matrix = WeightConversion.matrix(weights, rows: shape.rows, cols: shape.cols, format: format)
                let paths: [(unit: Bool, oneDNN: Bool)] = switch format {
                case .f32: [(false, true), (false, false)]
                case .int4: [(true, false), (false, false)]
                default: [(true, true), (true, false), (false, true), (false, false)]
                }
                for (unit, oneDNN) in paths {
                    let on = KernelPath.useUnitGEMMs(int8: unit, bf16: unit)
                    // oneDNN takes f32 and the unit GEMMs' products past the matrix-vector limit; the int8 unit GEMM
                    // takes what `WeightMatrix.int8GEMMTakes` says (on AVX2 only through oneDNN), int4's (on with
                    // int8's) every batch, bf16's past that limit.
                    if oneDNN && !(KernelPath.useOneDNN(true) && shape.m > WeightMatrix.matvecLimit) { continue }
                    if !oneDNN { KernelPath.useOneDNN(false) }
                    let takes = switch format {
                    case .int8: WeightMatrix.int8GEMMTakes(count: shape.m)
                    case .int4: KernelPath.int4GEMM != nil
                    default: on.bf16 && shape.m > WeightMatrix.matvecLimit
                    }
                    if unit && !takes { continue }
                    let unitPath: String? = switch format {
                    case .int8: KernelPath.int8GEMM
                    case .int4: KernelPath.int4GEMM
                    default: KernelPath.bf16GEMM
                    }
                    // int4's own kernel runs every batch on AVX2 (`WeightMatrix.multiply`).
                    let ownKernel = shape.m <= WeightMatrix.matvecLimit || (format == .int4 && KernelPath.decode == "avx2")
                    // Tiles of converted weights go through oneDNN's f32 product where it is on, else BLAS.
                    let library = oneDNN ? "oneDNN " + (KernelPath.oneDNNKernel(unit ? format : .f32, inputs: shape.m / pool.threads,
                                                                                 rows: shape.rows, cols: shape.cols) ?? "") : "BLAS"
                    let path = format == .int4 && KernelPath.decode == "avx2" ? KernelPath.int4Kernel(count: shape.m)
                        : unit && !oneDNN ? unitPath ?? "" : ownKernel ? KernelPath.decode
                        : format == .f32 || unit ? library : "f32 tiles, " + library
                    if format == .int4 && !int4Kernels.insert(path).inserted { continue }
                    let seconds = x.withUnsafeBufferPointer { input -> Double in
                        guard let input = input.baseAddress else { return .nan }
                        return median {
                            matrix.multiply(input, count: shape.m, into: y.pointer.assumingMemoryBound(to: Float.self),
                                            pool: pool, scratch: scratch.pointer.assumingMemoryBound(to: Float.self),
                                            quantized: quantized.pointer)
                        }
                    }
                    let flops = 2.0 * Double(shape.m * shape.rows * shape.cols)
                    // The unit a product runs on; matrix-vector products are bound by reading the weights instead.
                    let product: ArithmeticUnit? = unit ? (format == .bf16 ? .bf16 : .int8)
                        : !ownKernel ? .f32 : format == .int4 && shape.m > WeightMatrix.matvecLimit ? .int8 : nil
                    // oneDNN's int8 and bf16 kernels on AMX's tiles (`brg:avx512_core_amx`) where the processor has them.
                    let onTiles = oneDNN && unit && library.contains("amx")
                    let judged = product.map { onTiles ? ($0 == .int8 ? ArithmeticUnit.amxInt8 : .amxBF16) : $0 }
                    let share = judged.flatMap { unit in peaks.first { $0.unit == unit } }
                        .map { String(format: "  %.0f%% of %@", 100 * flops / seconds / $0.operationsPerSecond, $0.unit.rawValue) } ?? ""
                    print("\(shape.name)  \(shape.m)×\(shape.rows)×\(shape.cols)  \(format.rawValue)  \(path)  "
                          + String(format: "%.2f  %.1f", seconds * 1000, flops / seconds / 1e9) + share)
                }
            }
        }
    }

    private func median(_ body: () -> Void) -> Double {
        // Warm up for at least 0.1 s, not once: after one call some products ran at half speed, each thread's share
        // at full speed but one after the other (a just-woken pool worker sharing the caller's core for a while).
        let warmUpEnd = DispatchTime.now().uptimeNanoseconds + 100_000_000
        repeat { body() } while DispatchTime.now().uptimeNanoseconds < warmUpEnd
        var times = [Double]()
        for _ in 0..<repeats {
            let start = DispatchTime.now().uptimeNanoseconds
            body()
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return times.sorted()[times.count / 2]
    }
}
