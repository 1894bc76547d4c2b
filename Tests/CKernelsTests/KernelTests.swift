import CKernels
import Foundation
import Testing

/// Every kernel and weight format against a double-precision reference, on the fast path and the
/// portable one. Serialized because `ck_set_isa` switches the kernels for the whole process.
@Suite("Kernels", .serialized)
struct KernelTests {
    /// The instruction sets this machine can run, best first: AVX2 or NEON with dot products, plain NEON, the
    /// portable fallback. Asked of the dispatcher rather than read from `ck_isa()`, which a test that ran first
    /// may have left on the portable table (then only the portable one would be tested).
    static let isas: [Int32] = {
        #if arch(x86_64)
        let candidates = [Int32(CK_ISA_AVX2)]
        #elseif arch(arm64)
        let candidates = [Int32(CK_ISA_NEON_DOTPROD), Int32(CK_ISA_NEON)]
        #else
        let candidates: [Int32] = []
        #endif
        var found: [Int32] = []
        for isa in candidates + [Int32(CK_ISA_PORTABLE)] {
            let chosen = ck_set_isa(isa)
            if !found.contains(chosen) { found.append(chosen) }
        }
        // Back on the best, so that the conditions of the tests (evaluated after this) see the paths that run.
        ck_set_isa(found[0])
        return found
    }()

    /// Runs `body` once per instruction set, restoring the best one afterwards.
    static func forEachISA(_ body: (Int32) -> Void) {
        for isa in isas {
            #expect(ck_set_isa(isa) == isa)
            body(isa)
        }
        ck_set_isa(isas[0])
    }

    @Test func anUnavailableInstructionSetFallsBackToPortable() {
        #if arch(x86_64)
        let missing = Int32(CK_ISA_NEON)
        #else
        let missing = Int32(CK_ISA_AVX2)
        #endif
        #expect(ck_set_isa(missing) == Int32(CK_ISA_PORTABLE))
        #expect(ck_isa() == Int32(CK_ISA_PORTABLE))
        #expect(ck_set_isa(Self.isas[0]) == Self.isas[0])
    }

    /// A 64-bit LCG; values in [-1, 1).
    struct Generator {
        var state: UInt64
        mutating func bits() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state
        }
        mutating func next() -> Float { Float(Int64(bitPattern: bits()) >> 40) / Float(1 << 23) }
    }

    static func random(_ count: Int, seed: UInt64) -> [Float] {
        var g = Generator(state: seed)
        return (0..<count).map { _ in g.next() }
    }

    enum Format: String, CaseIterable, CustomTestStringConvertible {
        case f32, f16, bf16, int8
        var elementSize: Int { self == .f32 ? 4 : self == .int8 ? 1 : 2 }
        var testDescription: String { rawValue }
    }

    /// Weights stored in a format, at an address that is element-aligned but not vector-aligned
    /// (as in a memory-mapped checkpoint), with the exact f32 values they stand for.
    final class Stored {
        let format: Format
        let rows: Int, cols: Int
        let buffer: UnsafeMutableRawPointer
        let data: UnsafeMutableRawPointer
        let scales: [Float]
        let exact: [Float]

        init(_ values: [Float], rows: Int, cols: Int, format: Format) {
            self.format = format
            self.rows = rows
            self.cols = cols
            var scales: [Float] = []
            var bytes: [UInt8]
            let exact: [Float]
            switch format {
            case .f32:
                bytes = values.withUnsafeBytes { Array($0) }
                exact = values
            case .f16:
                var half = [UInt16](repeating: 0, count: values.count)
                ck_f32_to_f16(values, &half, values.count)
                bytes = half.withUnsafeBytes { Array($0) }
                exact = half.map { ck_f16_to_f32($0) }
            case .bf16:
                var bf = [UInt16](repeating: 0, count: values.count)
                ck_f32_to_bf16(values, &bf, values.count)
                bytes = bf.withUnsafeBytes { Array($0) }
                exact = bf.map { Float(bitPattern: UInt32($0) << 16) }
            case .int8:
                var q = [Int8](repeating: 0, count: values.count)
                scales = [Float](repeating: .nan, count: rows)
                ck_quantize_rows_q8(values, &q, &scales, rows, cols)
                bytes = q.withUnsafeBytes { Array($0) }
                exact = q.indices.map { Float(q[$0]) * scales[$0 / cols] }
            }
            self.scales = scales
            self.exact = exact
            buffer = UnsafeMutableRawPointer.allocate(byteCount: bytes.count + 64, alignment: 64)
            data = buffer + (format == .int8 ? 1 : format.elementSize == 2 ? 2 : 4)
            bytes.withUnsafeBytes { data.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        }

        deinit { buffer.deallocate() }

        /// y = W·x through ck_matmul_<format> for rows `range`; y starts as NaN so untouched entries show.
        func matmul(_ x: [Float], m: Int, _ range: Range<Int>) -> [Float] {
            var y = [Float](repeating: .nan, count: m * rows)
            let b = range.lowerBound, e = range.upperBound
            switch format {
            case .f32: ck_matmul_f32(data.assumingMemoryBound(to: Float.self), x, &y, m, rows, cols, b, e)
            case .f16: ck_matmul_f16(data.assumingMemoryBound(to: UInt16.self), x, &y, m, rows, cols, b, e)
            case .bf16: ck_matmul_bf16(data.assumingMemoryBound(to: UInt16.self), x, &y, m, rows, cols, b, e)
            case .int8: ck_matmul_q8(data.assumingMemoryBound(to: Int8.self), scales, x, &y, m, rows, cols, b, e)
            }
            return y
        }

        /// The same through ck_matvec_<format>.
        func matvec(_ x: [Float], _ range: Range<Int>) -> [Float] {
            var y = [Float](repeating: .nan, count: rows)
            let b = range.lowerBound, e = range.upperBound
            switch format {
            case .f32: ck_matvec_f32(data.assumingMemoryBound(to: Float.self), x, &y, rows, cols, b, e)
            case .f16: ck_matvec_f16(data.assumingMemoryBound(to: UInt16.self), x, &y, rows, cols, b, e)
            case .bf16: ck_matvec_bf16(data.assumingMemoryBound(to: UInt16.self), x, &y, rows, cols, b, e)
            case .int8: ck_matvec_q8(data.assumingMemoryBound(to: Int8.self), scales, x, &y, rows, cols, b, e)
            }
            return y
        }

        /// Rows `range` converted to f32 through ck_rows_to_f32_<format> (not for f32).
        func rowsToFloat(_ range: Range<Int>) -> [Float] {
            var out = [Float](repeating: .nan, count: range.count * cols)
            let b = range.lowerBound, e = range.upperBound
            switch format {
            case .f32: break
            case .f16: ck_rows_to_f32_f16(data.assumingMemoryBound(to: UInt16.self), &out, cols, b, e)
            case .bf16: ck_rows_to_f32_bf16(data.assumingMemoryBound(to: UInt16.self), &out, cols, b, e)
            case .int8: ck_rows_to_f32_q8(data.assumingMemoryBound(to: Int8.self), scales, &out, cols, b, e)
            }
            return out
        }
    }

    /// Checks y against Σ exact·x in doubles: 1e-5 of Σ|w·x| (f32 accumulation), plus for int8 the
    /// bound of quantizing each input to int8 (max|x| / 254 per element) where the kernel may do so.
    static func expectMatches(_ y: [Float], _ stored: Stored, _ x: [Float], m: Int, _ range: Range<Int>, _ label: String) {
        let rows = stored.rows, cols = stored.cols
        for i in 0..<m {
            for r in 0..<rows where !range.contains(r) {
                #expect(y[i * rows + r].isNaN, "\(label): row \(r) outside \(range) was written")
            }
            let xi = x[(i * cols)..<((i + 1) * cols)]
            let inputStep = stored.format == .int8 && m == 1 ? Double(xi.map(abs).max() ?? 0) / 254 : 0
            for r in range {
                var reference = 0.0, magnitude = 0.0, quantization = 0.0
                for c in 0..<cols {
                    let w = Double(stored.exact[r * cols + c]), v = Double(x[i * cols + c])
                    reference += w * v
                    magnitude += abs(w * v)
                    quantization += abs(w) * inputStep
                }
                let error = abs(Double(y[i * rows + r]) - reference)
                #expect(error <= 1e-5 * max(magnitude, 1e-3) + quantization,
                        "\(label) m=\(i + 1)/\(m) r=\(r): \(y[i * rows + r]) vs \(reference)")
            }
        }
    }

    static let shapes = [(5, 1), (9, 7), (13, 33), (11, 64), (6, 768), (3, 3072)]

    @Test("matmul matches a double reference for every size, batch 1…9 and row range", arguments: Format.allCases)
    func matmulMatchesReference(format: Format) {
        Self.forEachISA { isa in
            for (rows, cols) in Self.shapes {
                let stored = Stored(Self.random(rows * cols, seed: UInt64(rows * 31 + cols)), rows: rows, cols: cols, format: format)
                for m in 1...9 {
                    let x = Self.random(m * cols, seed: UInt64(m * 7 + cols))
                    for range in [0..<rows, 1..<(rows - 1), (rows - 1)..<rows] {
                        let y = stored.matmul(x, m: m, range)
                        Self.expectMatches(y, stored, x, m: m, range, "isa \(isa) \(format) \(rows)×\(cols) rows \(range)")
                    }
                }
            }
        }
    }

    @Test("matvec is matmul with one input, bit for bit", arguments: Format.allCases)
    func matvecIsMatmulWithOneInput(format: Format) {
        Self.forEachISA { _ in
            for (rows, cols) in Self.shapes {
                let stored = Stored(Self.random(rows * cols, seed: 5), rows: rows, cols: cols, format: format)
                let x = Self.random(cols, seed: 6)
                let range = 1..<rows
                let a = stored.matvec(x, range), b = stored.matmul(x, m: 1, range)
                #expect(a.map(\.bitPattern) == b.map(\.bitPattern))
            }
        }
    }

    @Test("an empty row range writes nothing", arguments: Format.allCases)
    func emptyRangeWritesNothing(format: Format) {
        Self.forEachISA { _ in
            let stored = Stored(Self.random(4 * 64, seed: 9), rows: 4, cols: 64, format: format)
            for m in [1, 3, 8] {
                #expect(stored.matmul(Self.random(m * 64, seed: 2), m: m, 2..<2).allSatisfy { $0.isNaN })
            }
        }
    }

    @Test("the longest inputs (heap-quantized for int8) match too", arguments: Format.allCases)
    func wideRows(format: Format) {
        Self.forEachISA { isa in
            let rows = 2, cols = 16384 + 32
            let stored = Stored(Self.random(rows * cols, seed: 4), rows: rows, cols: cols, format: format)
            let x = Self.random(cols, seed: 8)
            Self.expectMatches(stored.matmul(x, m: 1, 0..<rows), stored, x, m: 1, 0..<rows, "isa \(isa) \(format) wide")
        }
    }

    @Test("rows convert to the exact f32 values", arguments: [Format.f16, .bf16, .int8])
    func rowConversion(format: Format) {
        Self.forEachISA { _ in
            for cols in [1, 7, 45, 768] {
                let rows = 7
                let stored = Stored(Self.random(rows * cols, seed: 3), rows: rows, cols: cols, format: format)
                for range in [2..<6, 0..<rows, 3..<3] {
                    let out = stored.rowsToFloat(range)
                    #expect(out == Array(stored.exact[(range.lowerBound * cols)..<(range.upperBound * cols)]))
                }
            }
        }
    }

    @Test func int8QuantizationErrorIsBoundedAndZeroRowsStayZero() {
        Self.forEachISA { isa in
            let rows = 4, cols = 100
            var values = Self.random(rows * cols, seed: 11)
            for c in 0..<cols { values[cols + c] = 0 }
            let stored = Stored(values, rows: rows, cols: cols, format: .int8)
            #expect(stored.scales[1] == 0)
            for r in 0..<rows {
                let maximum = values[(r * cols)..<((r + 1) * cols)].map(abs).max() ?? 0
                #expect(abs(stored.scales[r] - maximum / 127) <= 1e-7)
                for c in 0..<cols {
                    #expect(!stored.exact[r * cols + c].isNaN)
                    #expect(abs(stored.exact[r * cols + c] - values[r * cols + c]) <= stored.scales[r] / 2 + 1e-7)
                }
            }
            // A zero row multiplies to exactly 0, batched or not, and dequantizes to zeros.
            for m in [1, 2, 5] {
                let y = stored.matmul(Self.random(m * cols, seed: 12), m: m, 0..<rows)
                for i in 0..<m { #expect(y[i * rows + 1] == 0, "isa \(isa) m=\(m)") }
            }
            #expect(stored.rowsToFloat(1..<2).allSatisfy { $0 == 0 })
        }
    }

    @Test func int8RoundTripIsStable() {
        // Quantizing the dequantized weights again gives the same int8 values.
        Self.forEachISA { _ in
            let rows = 6, cols = 333
            let stored = Stored(Self.random(rows * cols, seed: 21), rows: rows, cols: cols, format: .int8)
            let again = Stored(stored.exact, rows: rows, cols: cols, format: .int8)
            let first = UnsafeRawBufferPointer(start: stored.data, count: rows * cols)
            let second = UnsafeRawBufferPointer(start: again.data, count: rows * cols)
            #expect(Array(first) == Array(second))
        }
    }

    /// How many elements differ (counted, so that a failure does not print two long arrays).
    static func mismatches<T: Equatable>(_ a: [T], _ b: [T]) -> Int {
        a.count == b.count ? zip(a, b).filter { $0 != $1 }.count : max(a.count, b.count)
    }

    /// Random f32 bit patterns, weighted towards the half range, and the special values.
    static func conversionInputs() -> [Float] {
        var g = Generator(state: 99)
        var bits = (0..<100_003).map { _ in UInt32(truncatingIfNeeded: g.bits() >> 17) }
        for i in 0..<40_000 { bits[i] = (bits[i] & 0x8FFF_FFFF) | 0x3000_0000 }
        bits += [0x7F80_0000, 0xFF80_0000, 0x7FC0_0000, 0x7F80_0001, 0xFFBF_FFFF, 0x477F_F000, 0x477F_EFFF,
                 0x3300_0000, 0x3300_0001, 0x3880_0000, 0x387F_FFFF, 0x0000_0001, 0x8000_0000, 0x3F80_8000, 0x3F81_8000]
        return bits.map { Float(bitPattern: $0) }
    }

    @Test("vector conversions and quantization are bit-identical to the portable ones")
    func conversionsMatchPortable() {
        let values = Self.conversionInputs()
        var results: [[UInt16]] = []
        var quantized: [([Int8], [Float])] = []
        var weights = Self.random(37 * 1000, seed: 17).enumerated().map { $0.element * Float(1 + $0.offset % 7) }
        for c in 0..<1000 { weights[5 * 1000 + c] = 0 }
        for c in 0..<1000 { weights[11 * 1000 + c] = Float(c % 255 - 127) * 0.5 }  // ties
        weights[9 * 1000 + 3] = .nan
        Self.forEachISA { _ in
            var half = [UInt16](repeating: 0, count: values.count), bf = half
            ck_f32_to_f16(values, &half, values.count)
            ck_f32_to_bf16(values, &bf, values.count)
            results.append(half + bf)
            var q = [Int8](repeating: 0, count: weights.count), scales = [Float](repeating: 0, count: 37)
            ck_quantize_rows_q8(weights, &q, &scales, 37, 1000)
            #expect(q[9 * 1000 + 3] == 0, "NaN quantizes to 0")
            #expect(scales[5] == 0 && q[(5 * 1000)..<(6 * 1000)].allSatisfy { $0 == 0 })
            quantized.append((q, scales))
        }
        for k in results.indices.dropFirst() {
            #expect(Self.mismatches(results[k], results[0]) == 0, "f16 / bf16 results that differ")
            #expect(Self.mismatches(quantized[k].0, quantized[0].0) == 0, "int8 values that differ")
            #expect(Self.mismatches(quantized[k].1.map(\.bitPattern), quantized[0].1.map(\.bitPattern)) == 0, "scales that differ")
        }
    }

    @Test func halfConversionRoundsToNearestEvenAndKeepsSpecials() {
        let cases: [(Float, UInt16)] = [
            (0, 0x0000), (-0.0, 0x8000), (1, 0x3C00), (65504, 0x7BFF), (65520, 0x7C00), (1e9, 0x7C00),
            (.infinity, 0x7C00), (-.infinity, 0xFC00), (5.960_464_5e-8, 0x0001), (2.980_232_2e-8, 0x0000),
            (1.000_488_3, 0x3C00), (1.001_464_8, 0x3C02),  // ties go to even
        ]
        Self.forEachISA { isa in
            // Repeated to a length the vector loops take, not only the scalar tail.
            let inputs = Array(repeating: cases.map(\.0), count: 3).flatMap { $0 }
            var out = [UInt16](repeating: 0, count: inputs.count)
            ck_f32_to_f16(inputs, &out, inputs.count)
            for (k, bits) in out.enumerated() {
                #expect(bits == cases[k % cases.count].1, "isa \(isa): \(inputs[k]) -> \(String(bits, radix: 16))")
            }
            var nan: [Float] = Array(repeating: .nan, count: 9), nanOut = [UInt16](repeating: 0, count: 9)
            ck_f32_to_f16(&nan, &nanOut, 9)
            #expect(nanOut.allSatisfy { ck_f16_to_f32($0).isNaN })
            // Every finite half value survives f16 → f32 → f16.
            let halves = (UInt16.min...UInt16.max).filter { ($0 & 0x7C00) != 0x7C00 || ($0 & 0x3FF) == 0 }
            let floats = halves.map { ck_f16_to_f32($0) }
            var back = [UInt16](repeating: 0, count: floats.count)
            ck_f32_to_f16(floats, &back, floats.count)
            #expect(Self.mismatches(back, halves) == 0, "isa \(isa): half values that did not survive")
        }
    }

    @Test func bfloat16ConversionRoundsToNearestEven() {
        let cases: [(Float, UInt16)] = [(1, 0x3F80), (Float(bitPattern: 0x3F80_8000), 0x3F80), (Float(bitPattern: 0x3F81_8000), 0x3F82),
                                        (Float(bitPattern: 0x3F80_8001), 0x3F81), (-2, 0xC000), (.infinity, 0x7F80)]
        Self.forEachISA { isa in
            let inputs = Array(repeating: cases.map(\.0), count: 4).flatMap { $0 }
            var out = [UInt16](repeating: 0, count: inputs.count)
            ck_f32_to_bf16(inputs, &out, inputs.count)
            for (k, bits) in out.enumerated() { #expect(bits == cases[k % cases.count].1, "isa \(isa) \(k)") }
        }
    }

    static let hasVNNIGemm = ck_has(UInt32(CK_FEATURE_AVX512F | CK_FEATURE_AVX512BW | CK_FEATURE_AVX512VNNI)) != 0
    static let hasBF16Gemm = ck_has(UInt32(CK_FEATURE_AVX512F | CK_FEATURE_AVX512BW | CK_FEATURE_AVX512BF16)) != 0

    @Test func detectedFeaturesAreConsistentWithThePathsInUse() {
        let features = ck_cpu_features()
        func has<T: BinaryInteger>(_ feature: T) -> Bool { features & UInt32(feature) != 0 }
        // AVX-512 extensions and AMX units come only with their foundations (and with the OS state checked once).
        if has(CK_FEATURE_AVX512BW) || has(CK_FEATURE_AVX512DQ) || has(CK_FEATURE_AVX512VNNI) || has(CK_FEATURE_AVX512BF16) {
            #expect(has(CK_FEATURE_AVX512F))
        }
        if has(CK_FEATURE_AMX_INT8) || has(CK_FEATURE_AMX_BF16) { #expect(has(CK_FEATURE_AMX_TILE)) }
        #if arch(x86_64)
        #expect(!has(CK_FEATURE_NEON))
        let avx2 = has(CK_FEATURE_AVX2) && has(CK_FEATURE_FMA) && has(CK_FEATURE_F16C)
        #expect((Self.isas[0] == Int32(CK_ISA_AVX2)) == avx2)
        #expect(Self.hasVNNIGemm == (has(CK_FEATURE_AVX512F) && has(CK_FEATURE_AVX512BW) && has(CK_FEATURE_AVX512VNNI)))
        #expect(Int(ck_bf16_gemm()) == Int(CK_GEMM_NONE), "the bf16 GEMM rounds inputs, so it is off until asked for")
        #elseif arch(arm64)
        #expect(has(CK_FEATURE_NEON))
        #expect(!Self.hasVNNIGemm && !Self.hasBF16Gemm)
        #endif
        #expect(ck_has(0) == 1, "the empty set of features is always there")
    }

    /// The peak loops: a unit runs where its instruction is named, each round doing the same operations, and a cap on
    /// the features takes the units away with them (AVX2's int8 then multiplies by maddubs, as its kernels do).
    @Test func unitPeakLoopsFollowTheFeatures() {
        let units = [CK_UNIT_F32, CK_UNIT_INT8, CK_UNIT_BF16, CK_UNIT_AMX_INT8, CK_UNIT_AMX_BF16].map(Int32.init)
        func instructions() -> [String?] { units.map { ck_unit_peak_instruction($0).map { String(cString: $0) } } }
        for (unit, instruction) in zip(units, instructions()) {
            let perRound = ck_unit_peak(unit, 1)
            #expect((perRound > 0) == (instruction != nil), "unit \(unit): \(instruction ?? "none")")
            #expect(ck_unit_peak(unit, 1000) == 1000 * perRound)
            #expect(ck_unit_peak(unit, 0) == 0)
        }
        #if arch(x86_64)
        let avx2 = ck_has(UInt32(CK_FEATURE_AVX2 | CK_FEATURE_FMA)) != 0
        let vnni512 = ck_has(UInt32(CK_FEATURE_AVX512F | CK_FEATURE_AVX512BW | CK_FEATURE_AVX512VNNI)) != 0
        #expect(instructions()[1] == (vnni512 ? "vpdpbusd zmm" : !avx2 ? nil
            : Self.hasAVXVNNI ? "vpdpbusd ymm (avxvnni)" : "vpmaddubsw+vpmaddwd+vpaddd ymm"))
        if avx2 {
            #expect(ck_set_max_isa("avx2") == 1)
            #expect(instructions() == ["vfmadd231ps ymm", "vpmaddubsw+vpmaddwd+vpaddd ymm", nil, nil, nil])
        }
        #elseif arch(arm64)
        #expect(instructions()[0] == "fmla v.4s" && instructions()[2] == nil)
        #endif
        #expect(ck_set_max_isa("portable") == 1)
        #expect(instructions() == [nil, nil, nil, nil, nil] && units.allSatisfy { ck_unit_peak($0, 10) == 0 })
        ck_set_max_isa(ProcessInfo.processInfo.environment["OPTIML_MAX_ISA"])
    }

    static let hasAVXVNNI = ck_has(UInt32(CK_FEATURE_AVXVNNI)) != 0

    /// The int8 GEMM paths this machine has: AVX-512 VNNI, AVX-VNNI and oneDNN's AVX2 kernels (7-bit inputs).
    static let q8Paths: [Int32] = {
        let avx2 = ck_has(UInt32(CK_FEATURE_AVX2 | CK_FEATURE_FMA)) != 0
        return (hasVNNIGemm ? [Int32(CK_GEMM_AVX512VNNI)] : []) + (avx2 && hasAVXVNNI ? [Int32(CK_GEMM_AVXVNNI)] : [])
            + (avx2 && hasOneDNN ? [Int32(CK_GEMM_AVX2_ONEDNN)] : [])
    }()

    @Test("processors with 128-bit vector units are told apart by CPUID vendor and signature", arguments: [
        ("AuthenticAMD", 0x0080_0F12 as UInt32, true), // EPYC 7601: Zen, family 17h model 01h
        ("AuthenticAMD", 0x0080_0F82, true), // Ryzen 7 2700X: Zen+, model 08h
        ("AuthenticAMD", 0x0060_0F20, true), // FX-8350: Piledriver, family 15h
        ("HygonGenuine", 0x0090_0F01, true), // Hygon C86 7185: Dhyana, family 18h
        ("AuthenticAMD", 0x0083_0F10, false), // EPYC 7742: Zen 2, model 31h
        ("AuthenticAMD", 0x00A0_0F11, false), // EPYC 7763: Zen 3, family 19h
        ("AuthenticAMD", 0x00A1_0F11, false), // EPYC 9654: Zen 4
        ("GenuineIntel", 0x0005_0654, false), // Xeon Skylake-SP
    ])
    func narrowAVXSignatures(vendor: String, signature: UInt32, narrow: Bool) {
        #expect((ck_narrow_avx_signature(vendor, signature) != 0) == narrow)
    }

    @Test func gemmPathsSwitchOffAndBackOn() {
        #expect(ck_best_q8_gemm() == Self.q8Paths.first ?? Int32(CK_GEMM_NONE))
        // The default is the best, but for oneDNN's AVX2 kernels on 128-bit units, where the f32 tiles are as fast.
        let narrowAVX2 = ck_best_q8_gemm() == Int32(CK_GEMM_AVX2_ONEDNN) && ck_has(UInt32(CK_FEATURE_NARROW_AVX)) != 0
        #expect(ck_q8_gemm() == ck_default_q8_gemm() && ck_default_q8_gemm() == (narrowAVX2 ? Int32(CK_GEMM_NONE) : ck_best_q8_gemm()))
        #expect(ck_set_q8_gemm(Int32(CK_GEMM_NONE)) == Int32(CK_GEMM_NONE))
        #expect(ck_set_bf16_gemm(Int32(CK_GEMM_NONE)) == Int32(CK_GEMM_NONE))
        // Asking for a unit another family has (or this processor lacks) gives none.
        #expect(ck_set_q8_gemm(Int32(CK_GEMM_AVX512BF16)) == Int32(CK_GEMM_NONE))
        #expect(ck_set_bf16_gemm(Int32(CK_GEMM_AVX512VNNI)) == Int32(CK_GEMM_NONE))
        #expect((ck_set_q8_gemm(Int32(CK_GEMM_AVX512VNNI)) == Int32(CK_GEMM_AVX512VNNI)) == Self.hasVNNIGemm)
        #expect((ck_set_q8_gemm(Int32(CK_GEMM_AVXVNNI)) == Int32(CK_GEMM_AVXVNNI)) == Self.q8Paths.contains(Int32(CK_GEMM_AVXVNNI)))
        #expect((ck_set_q8_gemm(Int32(CK_GEMM_AVX2_ONEDNN)) == Int32(CK_GEMM_AVX2_ONEDNN)) == Self.q8Paths.contains(Int32(CK_GEMM_AVX2_ONEDNN)))
        #expect((ck_set_bf16_gemm(Int32(CK_GEMM_AVX512BF16)) == Int32(CK_GEMM_AVX512BF16)) == Self.hasBF16Gemm)
        ck_set_bf16_gemm(Int32(CK_GEMM_NONE))
        ck_set_q8_gemm(ck_default_q8_gemm())
    }

    /// GEMM shapes: several tiles, partial tiles of inputs and rows, columns that are not a multiple of a vector.
    static let gemmShapes = [(17, 9, 64), (20, 13, 100), (33, 6, 768), (5, 4, 1)]

    @Test("int8 GEMM (AVX-512 VNNI, or plain C on oneDNN's AVX2 path's 7-bit inputs) matches the reference within the input quantization error",
          .enabled(if: !q8Paths.isEmpty, "this processor has no AVX-512 VNNI, and no AVX2 with oneDNN: int8 prefill converts tiles to f32 for BLAS"))
    func int8Gemm() {
        for path in Self.q8Paths {
            #expect(ck_set_q8_gemm(path) == path)
            // oneDNN's AVX2 kernels add pairs of products in 16 bits, so their path keeps inputs to 7 bits.
            let levels = Int(ck_gemm_q8_input_levels())
            #expect(levels == (path == Int32(CK_GEMM_AVX2_ONEDNN) ? 127 : 255))
            checkInt8Gemm(levels: levels)
        }
        ck_set_q8_gemm(ck_default_q8_gemm())
    }

    func checkInt8Gemm(levels: Int) {
        for (m, rows, cols) in Self.gemmShapes {
            let stored = Stored(Self.random(rows * cols, seed: UInt64(cols)), rows: rows, cols: cols, format: .int8)
            let q = Array(UnsafeBufferPointer(start: stored.data.assumingMemoryBound(to: Int8.self), count: rows * cols))
            let sums = (0..<rows).map { r in q[(r * cols)..<((r + 1) * cols)].reduce(Int32(0)) { $0 + Int32($1) } }
            let x = Self.random(m * cols, seed: 77)
            var inputs = [UInt8](repeating: 0, count: m * cols), inputScales = [Float](repeating: 0, count: m)
            var inputZeros = [Int32](repeating: 0, count: m)
            ck_gemm_q8_quantize_inputs(x, &inputs, &inputScales, &inputZeros, m, cols)
            #expect(inputs.allSatisfy { Int($0) <= levels })
            var y = [Float](repeating: .nan, count: m * rows)
            ck_gemm_q8(inputs, inputScales, inputZeros, q, stored.scales, sums, &y, m, rows, cols, 1, rows)
            for i in 0..<m {
                #expect(y[i * rows].isNaN, "row outside the range was written")
                // One step of the row's range (with 0 in it) over the levels: rounding and the zero point's rounding.
                let row = x[(i * cols)..<((i + 1) * cols)]
                let step = Double(max(row.max() ?? 0, 0) - min(row.min() ?? 0, 0)) / Double(levels)
                for r in 1..<rows {
                    var reference = 0.0, bound = 1e-4
                    for c in 0..<cols {
                        reference += Double(stored.exact[r * cols + c]) * Double(x[i * cols + c])
                        bound += abs(Double(stored.exact[r * cols + c])) * step
                    }
                    #expect(abs(Double(y[i * rows + r]) - reference) <= bound, "\(m)×\(rows)×\(cols) i=\(i) r=\(r)")
                }
            }
        }
    }

    @Test("bf16 GEMM (AVX512-BF16) matches the reference within the inputs' bf16 rounding",
          .enabled(if: hasBF16Gemm, "this processor has no AVX512-BF16: bf16 prefill converts tiles to f32 for BLAS"))
    func bf16Gemm() {
        #expect(ck_set_bf16_gemm(Int32(CK_GEMM_AVX512BF16)) == Int32(CK_GEMM_AVX512BF16))
        defer { ck_set_bf16_gemm(Int32(CK_GEMM_NONE)) }
        for (m, rows, cols) in Self.gemmShapes {
            let stored = Stored(Self.random(rows * cols, seed: UInt64(cols) + 1), rows: rows, cols: cols, format: .bf16)
            let x = Self.random(m * cols, seed: 78)
            var inputs = [UInt16](repeating: 0, count: m * cols)
            ck_gemm_bf16_convert_inputs(x, &inputs, m, cols)
            var rounded = [UInt16](repeating: 0, count: m * cols)
            ck_f32_to_bf16(x, &rounded, m * cols)
            #expect(inputs == rounded, "inputs not rounded to nearest even as the weights are")
            var y = [Float](repeating: .nan, count: m * rows)
            ck_gemm_bf16(inputs, stored.data.assumingMemoryBound(to: UInt16.self), &y, m, rows, cols, 1, rows)
            for i in 0..<m {
                #expect(y[i * rows].isNaN, "row outside the range was written")
                for r in 1..<rows {
                    var reference = 0.0, magnitude = 0.0
                    for c in 0..<cols {
                        let product = Double(stored.exact[r * cols + c]) * Double(x[i * cols + c])
                        reference += product
                        magnitude += abs(product)
                    }
                    // Rounding an input to bf16 moves it by at most 2^-9 of itself; f32 sums add ~1e-6.
                    let bound = magnitude * (1.0 / 256 + 1e-5) + 1e-6
                    #expect(abs(Double(y[i * rows + r]) - reference) <= bound, "\(m)×\(rows)×\(cols) i=\(i) r=\(r)")
                }
            }
        }
    }

    static let hasOneDNN = ck_onednn_version() != nil

    @Test("oneDNN's f32 product matches the reference as BLAS does",
          .enabled(if: hasOneDNN, "oneDNN (libdnnl.so.2) is not installed: prefill runs on BLAS and our kernels"))
    func oneDNNF32() {
        for (m, rows, cols) in Self.gemmShapes {
            let w = Self.random(rows * cols, seed: UInt64(cols) + 2), x = Self.random(m * cols, seed: 79)
            var y = [Float](repeating: .nan, count: m * rows)
            #expect(ck_onednn_matmul(Int32(CK_ONEDNN_F32), x, w, &y, m, rows, cols) == 0)
            for i in 0..<m {
                for r in 0..<rows {
                    var reference = 0.0, magnitude = 0.0
                    for c in 0..<cols {
                        let product = Double(w[r * cols + c]) * Double(x[i * cols + c])
                        reference += product
                        magnitude += abs(product)
                    }
                    #expect(abs(Double(y[i * rows + r]) - reference) <= magnitude * 1e-5 + 1e-6, "\(m)×\(rows)×\(cols) i=\(i) r=\(r)")
                }
            }
        }
    }

    /// The int8 GEMM's steps in plain C (the portable instruction set forced) give the AVX-512 VNNI kernels' bits.
    @Test(.enabled(if: hasVNNIGemm, "this processor has no AVX-512 VNNI"))
    func int8GemmInPlainCHasTheVNNIBits() {
        #expect(ck_set_q8_gemm(Int32(CK_GEMM_AVX512VNNI)) == Int32(CK_GEMM_AVX512VNNI))
        expectInt8GemmInPlainC()
        ck_set_q8_gemm(ck_default_q8_gemm())
    }

    /// The same for the AVX-VNNI kernel, with the features capped as on a processor that has AVX-VNNI but no AVX-512
    /// (where the AVX-512 kernel would take the products first): batched decode's shapes beside the others.
    @Test(.enabled(if: hasAVXVNNI && isas[0] == Int32(CK_ISA_AVX2), "this processor has no AVX-VNNI"))
    func int8GemmInPlainCHasTheAVXVNNIBits() {
        let isa = Self.isas[0]
        #expect(ck_set_max_isa("avx2-vnni") == 1)
        defer {
            ck_set_max_isa(ProcessInfo.processInfo.environment["OPTIML_MAX_ISA"])
            ck_set_q8_gemm(ck_default_q8_gemm())
            ck_set_isa(isa)
        }
        #expect(ck_set_q8_gemm(Int32(CK_GEMM_AVXVNNI)) == Int32(CK_GEMM_AVXVNNI) && ck_gemm_q8_input_levels() == 255)
        expectInt8GemmInPlainC(extraShapes: [(8, 96, 768), (3, 31, 800)])
    }

    /// ck_gemm_q8's quantization, product and scaling of sums on the int8 GEMM in use, against the portable instruction
    /// set's plain C, bit for bit.
    func expectInt8GemmInPlainC(extraShapes: [(Int, Int, Int)] = []) {
        for (m, rows, cols) in Self.gemmShapes + [(40, 70, 300)] + extraShapes {
            let stored = Stored(Self.random(rows * cols, seed: UInt64(cols) + 9), rows: rows, cols: cols, format: .int8)
            let q = Array(UnsafeBufferPointer(start: stored.data.assumingMemoryBound(to: Int8.self), count: rows * cols))
            let sums = (0..<rows).map { r in q[(r * cols)..<((r + 1) * cols)].reduce(Int32(0)) { $0 + Int32($1) } }
            // ReLU-like rows (non-negative) beside signed ones.
            let x = Self.random(m * cols, seed: 90).enumerated().map { $0.offset % (2 * cols) < cols ? abs($0.element) : $0.element }
            let bias = Self.random(rows, seed: 91)
            func run() -> (inputs: [UInt8], scales: [Float], zeros: [Int32], y: [Float], scaled: [Float]) {
                var inputs = [UInt8](repeating: 0, count: m * cols), inputScales = [Float](repeating: 0, count: m)
                var inputZeros = [Int32](repeating: 0, count: m)
                ck_gemm_q8_quantize_inputs(x, &inputs, &inputScales, &inputZeros, m, cols)
                var y = [Float](repeating: .nan, count: m * rows)
                ck_gemm_q8(inputs, inputScales, inputZeros, q, stored.scales, sums, &y, m, rows, cols, 0, rows)
                // The scaling of given sums, with a bias, a scale and ReLU.
                let given = (0..<(m * rows)).map { Int32(truncatingIfNeeded: $0 &* 2_654_435_761) >> 12 }
                var scaled = [Float](repeating: .nan, count: m * rows)
                bias.withUnsafeBufferPointer { b in
                    var epilogue = ck_epilogue(bias: b.baseAddress, scale: 0.5, relu: 1)
                    ck_gemm_q8_scale_sums(inputScales, inputZeros, stored.scales, sums, given, rows, &scaled, rows, m, rows, &epilogue)
                }
                return (inputs, inputScales, inputZeros, y, scaled)
            }
            let vnni = run()
            let best = ck_set_isa(Int32(CK_ISA_PORTABLE))
            let plain = run()
            ck_set_isa(best)
            #expect(plain.inputs == vnni.inputs && plain.scales.map(\.bitPattern) == vnni.scales.map(\.bitPattern) && plain.zeros == vnni.zeros,
                    "\(m)×\(cols) quantization")
            #expect(plain.y.map(\.bitPattern) == vnni.y.map(\.bitPattern), "\(m)×\(rows)×\(cols) product")
            #expect(plain.scaled.map(\.bitPattern) == vnni.scaled.map(\.bitPattern), "\(m)×\(rows) scaling")
        }
    }

    @Test("oneDNN's int8 product gives the int8 GEMM's bits on each int8 path",
          .enabled(if: hasOneDNN && !q8Paths.isEmpty, "needs oneDNN (libdnnl.so.2) and AVX-512 VNNI or AVX2"))
    func oneDNNInt8() {
        for path in Self.q8Paths {
            #expect(ck_set_q8_gemm(path) == path)
            checkOneDNNInt8()
        }
        ck_set_q8_gemm(ck_default_q8_gemm())
    }

    func checkOneDNNInt8() {
        // Beside the common shapes: sums over 256 KB, scaled in column blocks of 1,600 then 400 from a cached
        // buffer; and so many inputs that a block of 64 would not fit, scaled in place.
        for (m, rows, cols) in Self.gemmShapes + [(40, 2000, 64), (1100, 80, 16)] {
            let stored = Stored(Self.random(rows * cols, seed: UInt64(cols) + 3), rows: rows, cols: cols, format: .int8)
            let q = Array(UnsafeBufferPointer(start: stored.data.assumingMemoryBound(to: Int8.self), count: rows * cols))
            let sums = (0..<rows).map { r in q[(r * cols)..<((r + 1) * cols)].reduce(Int32(0)) { $0 + Int32($1) } }
            let x = Self.random(m * cols, seed: 80)
            var inputs = [UInt8](repeating: 0, count: m * cols), inputScales = [Float](repeating: 0, count: m)
            var inputZeros = [Int32](repeating: 0, count: m)
            ck_gemm_q8_quantize_inputs(x, &inputs, &inputScales, &inputZeros, m, cols)
            var ours = [Float](repeating: .nan, count: m * rows), theirs = ours
            ck_gemm_q8(inputs, inputScales, inputZeros, q, stored.scales, sums, &ours, m, rows, cols, 0, rows)
            #expect(ck_onednn_gemm_q8(inputs, inputScales, inputZeros, q, stored.scales, sums, &theirs, m, rows, cols, nil) == 0)
            #expect(ours.map(\.bitPattern) == theirs.map(\.bitPattern), "\(m)×\(rows)×\(cols)")
            // A linear layer's bias, scale and ReLU, applied while each block is scaled: the bits of applying them after.
            let bias = Self.random(rows, seed: 81)
            for (withBias, scale, relu) in [(true, Float(0.125), Int32(1)), (true, 1, 0), (false, 0.5, 1)] {
                var after = ours, fused = [Float](repeating: .nan, count: m * rows)
                bias.withUnsafeBufferPointer { b in
                    let biasPointer = withBias ? b.baseAddress : nil
                    ck_bias_scale_relu_f32(&after, m, rows, biasPointer, scale, relu)
                    var epilogue = ck_epilogue(bias: biasPointer, scale: scale, relu: relu)
                    #expect(ck_onednn_gemm_q8(inputs, inputScales, inputZeros, q, stored.scales, sums, &fused, m, rows, cols, &epilogue) == 0)
                }
                #expect(after.map(\.bitPattern) == fused.map(\.bitPattern), "\(m)×\(rows)×\(cols) bias \(withBias) scale \(scale) relu \(relu)")
            }
        }
    }

    @Test("oneDNN's bf16 product matches the bf16 GEMM (AVX512-BF16) up to f32 summation order",
          .enabled(if: hasOneDNN && hasBF16Gemm, "needs oneDNN (libdnnl.so.2) and AVX512-BF16"))
    func oneDNNBF16() {
        #expect(ck_set_bf16_gemm(Int32(CK_GEMM_AVX512BF16)) == Int32(CK_GEMM_AVX512BF16))
        defer { ck_set_bf16_gemm(Int32(CK_GEMM_NONE)) }
        for (m, rows, cols) in Self.gemmShapes {
            let stored = Stored(Self.random(rows * cols, seed: UInt64(cols) + 4), rows: rows, cols: cols, format: .bf16)
            let x = Self.random(m * cols, seed: 81)
            var inputs = [UInt16](repeating: 0, count: m * cols)
            ck_gemm_bf16_convert_inputs(x, &inputs, m, cols)
            let w = stored.data.assumingMemoryBound(to: UInt16.self)
            var ours = [Float](repeating: .nan, count: m * rows), theirs = ours
            ck_gemm_bf16(inputs, w, &ours, m, rows, cols, 0, rows)
            #expect(ck_onednn_matmul(Int32(CK_ONEDNN_BF16), inputs, w, &theirs, m, rows, cols) == 0)
            for i in 0..<(m * rows) {
                let r = i % rows, row = i / rows
                var magnitude = 0.0
                for c in 0..<cols { magnitude += abs(Double(stored.exact[r * cols + c]) * Double(x[row * cols + c])) }
                #expect(abs(Double(ours[i]) - Double(theirs[i])) <= magnitude * 1e-5 + 1e-6, "\(m)×\(rows)×\(cols) at \(i)")
            }
        }
    }

    @Test("oneDNN refuses an empty product and can be switched off and on",
          .enabled(if: hasOneDNN, "oneDNN (libdnnl.so.2) is not installed"))
    func oneDNNSwitch() {
        var y: Float = 0
        #expect(ck_onednn_matmul(Int32(CK_ONEDNN_F32), [Float](), [Float](), &y, 0, 1, 1) == -1)
        #expect(ck_set_onednn(0) == 0 && ck_onednn() == 0)
        #expect(ck_set_onednn(1) == 1 && ck_onednn() == 1)
        var name = [CChar](repeating: 0, count: 128)
        #expect(ck_onednn_implementation(Int32(CK_ONEDNN_F32), 64, 64, 64, &name, name.count) == 0)
        #expect(name[0] != 0, "the implementation has a name")
    }

    /// Training's shapes in miniature, with leading dimensions wider than the matrices they hold.
    static let trainingGemmShapes = [(3, 5, 7), (37, 130, 64), (130, 33, 300), (1, 1, 1)]

    /// Whether oneDNN multiplies bf16 here: it needs AVX-512 (on AVX2 alone it refuses, and training's products
    /// run in f32).
    static let oneDNNRunsBF16: Bool = {
        var name = [CChar](repeating: 0, count: 128)
        return ck_onednn_implementation(Int32(CK_ONEDNN_BF16), 16, 16, 16, &name, name.count) == 0
    }()

    @Test("oneDNN's general GEMM matches a double reference for every transpose, beta 0 and 1, f32 and (where oneDNN runs it) bf16",
          .enabled(if: hasOneDNN, "oneDNN (libdnnl.so.2) is not installed"),
          arguments: [Int32(CK_ONEDNN_F32)] + (oneDNNRunsBF16 ? [Int32(CK_ONEDNN_BF16)] : []))
    func oneDNNGeneralGEMM(type: Int32) {
        // bf16 rounds A and B (nearest even) before multiplying: the reference rounds them the same way.
        func inputs(_ values: [Float]) -> [Double] {
            guard type == Int32(CK_ONEDNN_BF16) else { return values.map(Double.init) }
            var rounded = [UInt16](repeating: 0, count: values.count)
            ck_f32_to_bf16(values, &rounded, values.count)
            return rounded.map { Double(Float(bitPattern: UInt32($0) << 16)) }
        }
        for (m, n, k) in Self.trainingGemmShapes {
            for transposeA in [false, true] {
                for transposeB in [false, true] {
                    for beta: Float in [0, 1] {
                        // Stored A is m × k (k × m transposed), B k × n (n × k); 3 spare columns each.
                        let aRows = transposeA ? k : m, aCols = transposeA ? m : k, lda = aCols + 3
                        let bRows = transposeB ? n : k, bCols = transposeB ? k : n, ldb = bCols + 3, ldc = n + 3
                        let a = Self.random(aRows * lda, seed: UInt64(m * 7 + k)), b = Self.random(bRows * ldb, seed: UInt64(n * 5 + k))
                        let before = Self.random(m * ldc, seed: 91)
                        var c = before
                        let a64 = inputs(a), b64 = inputs(b)
                        let status = ck_onednn_gemm(type, transposeA ? 1 : 0, transposeB ? 1 : 0, m, n, k, 1, a, lda, b, ldb, beta, &c, ldc)
                        let label = "type \(type) \(m)×\(n)×\(k) transposeA \(transposeA) transposeB \(transposeB) beta \(beta)"
                        #expect(status == 0, "\(label)")
                        for i in 0..<m {
                            for j in 0..<n {
                                var reference = Double(beta) * Double(before[i * ldc + j]), magnitude = abs(reference)
                                for p in 0..<k {
                                    let x = transposeA ? a64[p * lda + i] : a64[i * lda + p]
                                    let y = transposeB ? b64[j * ldb + p] : b64[p * ldb + j]
                                    reference += x * y
                                    magnitude += abs(x * y)
                                }
                                #expect(abs(Double(c[i * ldc + j]) - reference) <= magnitude * 1e-5 + 1e-6, "\(label) at \(i), \(j)")
                            }
                            // The spare columns of C are never written.
                            for j in n..<ldc { #expect(c[i * ldc + j].bitPattern == before[i * ldc + j].bitPattern, "\(label) spare \(i), \(j)") }
                        }
                    }
                }
            }
        }
    }

    @Test("without AVX-512 oneDNN refuses bf16 products (ParallelGEMM then runs them in f32) and still runs f32",
          .enabled(if: hasOneDNN && !oneDNNRunsBF16, "oneDNN multiplies bf16 on this processor (AVX-512)"))
    func oneDNNWithoutBF16() {
        let (m, n, k) = (40, 24, 96)
        let a = Self.random(m * k, seed: 3), b = Self.random(k * n, seed: 4)
        var c = [Float](repeating: 0, count: m * n)
        #expect(ck_onednn_gemm(Int32(CK_ONEDNN_BF16), 0, 0, m, n, k, 1, a, k, b, n, 0, &c, n) == -1)
        #expect(ck_onednn_gemm(Int32(CK_ONEDNN_F32), 0, 0, m, n, k, 1, a, k, b, n, 0, &c, n) == 0)
    }

    @Test("oneDNN's general GEMM is the same bits on every call and scales by alpha",
          .enabled(if: hasOneDNN && oneDNNRunsBF16, "oneDNN is not installed, or does not multiply bf16 here (no AVX-512)"))
    func oneDNNGeneralGEMMRepeatsAndScales() {
        let (m, n, k) = (40, 24, 96)
        let a = Self.random(m * k, seed: 3), b = Self.random(k * n, seed: 4)
        var once = [Float](repeating: 0, count: m * n), again = once, doubled = once
        #expect(ck_onednn_gemm(Int32(CK_ONEDNN_BF16), 0, 0, m, n, k, 1, a, k, b, n, 0, &once, n) == 0)
        #expect(ck_onednn_gemm(Int32(CK_ONEDNN_BF16), 0, 0, m, n, k, 1, a, k, b, n, 0, &again, n) == 0)
        #expect(ck_onednn_gemm(Int32(CK_ONEDNN_BF16), 0, 0, m, n, k, 2, a, k, b, n, 0, &doubled, n) == 0)
        #expect(once.map(\.bitPattern) == again.map(\.bitPattern))
        // Operands rounded once by the caller (as the pool's blocks share them) give the same bits.
        var a16 = [UInt16](repeating: 0, count: m * k), b16 = [UInt16](repeating: 0, count: k * n), rounded = once
        ck_f32_to_bf16(a, &a16, m * k)
        ck_f32_to_bf16(b, &b16, k * n)
        #expect(ck_onednn_gemm_bf16(0, 0, m, n, k, 1, a16, k, b16, n, 0, &rounded, n) == 0)
        #expect(once.map(\.bitPattern) == rounded.map(\.bitPattern))
        #expect(ck_bf16_operand(0, 1000) != nil && ck_bf16_operand(2, 1) == nil)
        #expect(zip(once, doubled).allSatisfy { abs(2 * $0 - $1) <= 1e-5 * abs($1) + 1e-6 })
        // An empty C is nothing to do; the int8 type is not a GEMM type.
        #expect(ck_onednn_gemm(Int32(CK_ONEDNN_F32), 0, 0, 0, n, k, 1, a, k, b, n, 0, &once, n) == 0)
        #expect(ck_onednn_gemm(Int32(CK_ONEDNN_U8S8), 0, 0, m, n, k, 1, a, k, b, n, 0, &once, n) == -1)
    }

    @Test func dotAndAxpyMatchReference() {
        Self.forEachISA { isa in
            for n in [0, 1, 7, 8, 17, 64, 129, 1000] {
                let a = Self.random(n + 1, seed: 5), b = Self.random(n + 1, seed: 6)
                let reference = zip(a.prefix(n), b.prefix(n)).map { Double($0) * Double($1) }.reduce(0, +)
                #expect(abs(Double(ck_dot_f32(a, b, n)) - reference) <= 1e-6 * Double(max(n, 1)), "isa \(isa) n=\(n)")
                var y = b
                ck_axpy_f32(0.5, a, &y, n)
                for i in 0..<n { #expect(abs(y[i] - (b[i] + 0.5 * a[i])) <= 1e-6) }
                #expect(y[n] == b[n], "axpy wrote past n")
            }
        }
    }

    @Test func softmaxMatchesReferenceAndMasks() {
        Self.forEachISA { isa in
            for n in [1, 3, 8, 13, 100, 1027] {
                var x = Self.random(n, seed: UInt64(n)).map { $0 * 40 }
                if n > 3 { x[2] = -.infinity }
                let original = x
                let logSumExp = ck_softmax_f32(&x, n)
                let maximum = Double(original.max() ?? 0)
                let total = original.map { exp(Double($0) - maximum) }.reduce(0, +)
                #expect(abs(Double(logSumExp) - (maximum + log(total))) <= 1e-5 * (1 + abs(maximum)), "isa \(isa) n=\(n) log-sum-exp")
                for i in 0..<n {
                    let reference = exp(Double(original[i]) - maximum) / total
                    #expect(abs(Double(x[i]) - reference) <= 1e-6 + 1e-6 * reference, "isa \(isa) n=\(n) i=\(i)")
                }
                if n > 3 { #expect(x[2] == 0) }
            }
            var masked: [Float] = Array(repeating: -.infinity, count: 11)
            #expect(ck_softmax_f32(&masked, masked.count) == -.infinity)
            #expect(masked.allSatisfy { $0 == 0 })
        }
    }

    @Test("decode attention is dot, softmax and axpy in turn, bit for bit, on every instruction set")
    func attendOneIsDotSoftmaxAxpy() {
        Self.forEachISA { isa in
            // OPT's head sizes, others a multiple of 8 (the AVX2 kernel's), and one it leaves to the three calls.
            for d in [8, 16, 24, 64, 80, 128, 200, 12] {
                for total in [1, 3, 4, 5, 9, 97] {
                    // Two heads side by side, as in the cache's rows; the second one is computed.
                    let ld = 2 * d
                    let q = Self.random(d, seed: UInt64(d + total)).map { $0 * 3 }
                    let k = Self.random(total * ld, seed: UInt64(d * total + 1)), v = Self.random(total * ld, seed: UInt64(d * total + 2))
                    let keys = Array(k[d...]), values = Array(v[d...])
                    var scores = [Float](repeating: .nan, count: total + 1)
                    var out = [Float](repeating: .nan, count: d + 1)
                    ck_attend_one_f32(q, keys, values, ld, &out, total, d, &scores)
                    var expectedScores = (0..<total).map { j in ck_dot_f32(q, Array(keys[(j * ld)...]), d) }
                    ck_softmax_f32(&expectedScores, total)
                    var expected = [Float](repeating: 0, count: d)
                    for j in 0..<total where expectedScores[j] != 0 { ck_axpy_f32(expectedScores[j], Array(values[(j * ld)...]), &expected, d) }
                    #expect(out.prefix(d).map(\.bitPattern) == expected.map(\.bitPattern), "isa \(isa) d=\(d) total=\(total)")
                    #expect(out[d].isNaN && scores[total].isNaN, "isa \(isa) d=\(d) total=\(total): wrote past the output or the scores")
                }
            }
        }
    }

    // On AVX-512 the head sizes 48 and 96 take AVX2's kernel, OPT's (64, 80, 128) AVX-512's.
    @Test("f32 attention matches a double reference for OPT's head sizes and others, partial blocks and cached keys",
          .enabled(if: ck_attention_f32_enabled(64) != 0, "needs AVX2 and FMA; elsewhere attention runs on BLAS"))
    func attentionMatchesADoubleReference() {
        for d in [48, 64, 80, 96, 128] {
            // Three heads side by side, as in the model's rows; the middle one is computed.
            let width = 3 * d, offset = d
            for (steps, past) in [(1, 0), (3, 0), (8, 0), (13, 5), (20, 3), (40, 37), (70, 0)] {
                let total = past + steps
                let q = Self.random(steps * width, seed: UInt64(d + steps)).map { $0 * 0.5 }
                let k = Self.random(total * width, seed: UInt64(d + total + 1))
                let v = Self.random(total * width, seed: UInt64(d + total + 2))
                var out = [Float](repeating: .nan, count: steps * width)
                var scratch = [UInt8](repeating: 0, count: ck_attention_f32_scratch(total, d))
                let status = out.withUnsafeMutableBufferPointer { o in
                    ck_attention_f32(Array(q[offset...]), width, Array(k[offset...]), Array(v[offset...]), width,
                                     o.baseAddress! + offset, width, steps, past, d, &scratch)
                }
                #expect(status == 0)
                var worst = 0.0
                for i in 0..<steps {
                    let seen = past + i + 1
                    let scores = (0..<seen).map { j in (0..<d).reduce(0.0) { $0 + Double(q[i * width + offset + $1]) * Double(k[j * width + offset + $1]) } }
                    let top = scores.max() ?? 0, weights = scores.map { exp($0 - top) }, sum = weights.reduce(0, +)
                    for c in 0..<d {
                        let reference = (0..<seen).reduce(0.0) { $0 + weights[$1] / sum * Double(v[$1 * width + offset + c]) }
                        worst = max(worst, abs(Double(out[i * width + offset + c]) - reference))
                    }
                    // The other heads' columns are untouched.
                    #expect(out[i * width].isNaN && out[i * width + 2 * d].isNaN)
                }
                #expect(worst <= 2e-6, "d \(d), steps \(steps), past \(past): \(worst)")
            }
        }
    }

    @Test func residualLayerNormMatchesADoubleReference() {
        for width in [1, 5, 16, 768, 1027] {
            let rows = 3
            let x = Self.random(rows * width, seed: UInt64(width)).map { $0 * 4 + 1 }
            let added = Self.random(rows * width, seed: UInt64(width) + 7)
            let weight = Self.random(width, seed: 3), bias = Self.random(width, seed: 4)
            var sum = x, normed = [Float](repeating: 0, count: rows * width)
            ck_add_layer_norm_f32(&sum, added, &normed, rows, width, weight, bias, 1e-5)
            // In place (post-LN), without the residual, weight or bias: the same normalisation.
            var inPlace = sum
            inPlace.withUnsafeMutableBufferPointer { ck_add_layer_norm_f32($0.baseAddress, nil, $0.baseAddress, rows, width, nil, nil, 1e-5) }
            for r in 0..<rows {
                let row = (0..<width).map { Double(x[r * width + $0]) + Double(added[r * width + $0]) }
                let mean = row.reduce(0, +) / Double(width)
                let inverse = 1 / (row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(width) + 1e-5).squareRoot()
                for j in 0..<width {
                    let i = r * width + j, xhat = (row[j] - mean) * inverse
                    #expect(abs(Double(sum[i]) - row[j]) <= 1e-6 * (1 + abs(row[j])), "width \(width) x[\(i)]")
                    #expect(abs(Double(normed[i]) - (xhat * Double(weight[j]) + Double(bias[j]))) <= 2e-5, "width \(width) y[\(i)]")
                    #expect(abs(Double(inPlace[i]) - xhat) <= 2e-5, "width \(width) in place [\(i)]")
                }
            }
        }
    }

    /// The layer norm's sums in its documented order (16 lanes, element i into lane i % 16, lanes added pairwise)
    /// and no fused multiply-adds: the bits of the baseline build, whichever build the processor chose.
    @Test func residualLayerNormHasTheBaselineBits() {
        func lanesSum(_ values: [Float]) -> Float {
            var lanes = [Float](repeating: 0, count: 16)
            for (i, v) in values.enumerated() { lanes[i % 16] += v }
            var width = 8
            while width > 0 {
                for k in 0..<width { lanes[k] += lanes[k + width] }
                width /= 2
            }
            return lanes[0]
        }
        for width in [5, 768, 1027] {
            let x = Self.random(width, seed: UInt64(width) + 20).map { $0 * 4 + 1 }, added = Self.random(width, seed: 21)
            let weight = Self.random(width, seed: 22), bias = Self.random(width, seed: 23)
            var sum = x, normed = [Float](repeating: 0, count: width)
            ck_add_layer_norm_f32(&sum, added, &normed, 1, width, weight, bias, 1e-5)
            let row = zip(x, added).map { $0 + $1 }
            let mean = lanesSum(row) / Float(width)
            let inverse = 1 / (lanesSum(row.map { ($0 - mean) * ($0 - mean) }) / Float(width) + 1e-5).squareRoot()
            let expected = (0..<width).map { j -> Float in
                var v = (row[j] - mean) * inverse
                v *= weight[j]
                return v + bias[j]
            }
            #expect(sum.map(\.bitPattern) == row.map(\.bitPattern), "width \(width)")
            #expect(normed.map(\.bitPattern) == expected.map(\.bitPattern), "width \(width)")
        }
    }

    @Test func softmaxBackwardMatchesADoubleReference() {
        for n in [1, 7, 16, 100, 513] {
            var p = Self.random(n, seed: UInt64(n)).map { abs($0) + 0.01 }
            let total = p.reduce(0, +)
            p = p.map { $0 / total }
            let dp = Self.random(n, seed: UInt64(n) + 1)
            var gradient = dp
            ck_softmax_backward_f32(p, &gradient, n)
            let dot = zip(p, dp).map { Double($0) * Double($1) }.reduce(0, +)
            for i in 0..<n {
                #expect(abs(Double(gradient[i]) - Double(p[i]) * (Double(dp[i]) - dot)) <= 1e-6, "n=\(n) i=\(i)")
            }
        }
    }

    @Test func adamWLanesGiveTheScalarFormulasBits() {
        let n = 37  // vector lanes and a scalar tail
        let g = Self.random(n, seed: 11)
        var p = Self.random(n, seed: 12), m = Self.random(n, seed: 13).map { $0 * 0.1 }, v = Self.random(n, seed: 14).map { abs($0) * 0.01 }
        let (p0, m0, v0) = (p, m, v)
        let (keep, b1, b2, step, root, eps): (Float, Float, Float, Float, Float, Float) = (0.999, 0.9, 0.95, 1e-3, 0.3, 1e-8)
        ck_adamw_f32(&p, g, &m, &v, n, keep, b1, b2, step, root, eps)
        for i in 0..<n {
            let mi = b1 * m0[i] + (1 - b1) * g[i]
            let vi = b2 * v0[i] + (1 - b2) * g[i] * g[i]
            let pi = p0[i] * keep - step * mi / (vi.squareRoot() / root + eps)
            #expect(m[i].bitPattern == mi.bitPattern && v[i].bitPattern == vi.bitPattern && p[i].bitPattern == pi.bitPattern, "element \(i)")
        }
    }

    @Test func reluGradientZeroesWhereTheInputWasNotPositive() {
        let x: [Float] = [1, -1, 0, 2, -0.5, 3, 0.25, -2, 5]
        var dy: [Float] = [1, 2, 3, 4, 5, 6, 7, 8, 9]
        ck_relu_backward_f32(x, &dy, x.count)
        #expect(dy == [1, 0, 0, 4, 0, 6, 7, 0, 9])
    }

    /// The dropout mask's definition, written out here: splitmix64's finalizer over the element's index.
    static func dropoutFactor(base: UInt64, index: UInt64, threshold: UInt32, scale: Float) -> Float {
        var z = base &+ index &* 0xD1B5_4A32_D192_ED03
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return UInt32(truncatingIfNeeded: z >> 40) < threshold ? 0 : scale
    }

    @Test("dropout keeps or zeroes each element by its index's hash, the same bits on every instruction set")
    func dropoutFollowsTheIndexHash() {
        let base: UInt64 = 0x1234_5678_9ABC_DEF0, threshold = UInt32(0.1 * 16_777_216), scale: Float = 1 / 0.9
        // Negative values become -0 and specials stay specials (NaN where dropped), as a multiplication gives.
        let values = Self.random(1037, seed: 11) + [-.infinity, .infinity, .nan, -0.0, .leastNonzeroMagnitude]
        Self.forEachISA { isa in
            // Lengths around the vector width, and starts that wrap the 64-bit index product.
            for (count, first) in [(0, 0), (1, 5), (15, 0), (16, 3), (17, 1 << 40), (33, UInt64.max - 20), (values.count, 99)] as [(Int, UInt64)] {
                var x = Array(values.prefix(count))
                ck_dropout_f32(&x, count, base, first, threshold, scale)
                let expected = values.prefix(count).enumerated().map {
                    $0.element * Self.dropoutFactor(base: base, index: first &+ UInt64($0.offset), threshold: threshold, scale: scale)
                }
                #expect(x.map(\.bitPattern) == expected.map(\.bitPattern), "count \(count), first \(first), isa \(isa)")
            }
        }
        // About the probability asked for is dropped.
        var ones = [Float](repeating: 1, count: 200_000)
        ck_dropout_f32(&ones, ones.count, base, 0, threshold, scale)
        let dropped = Double(ones.filter { $0 == 0 }.count) / Double(ones.count)
        #expect(abs(dropped - 0.1) < 0.005, "dropped \(dropped)")
        #expect(ones.allSatisfy { $0 == 0 || $0 == scale })
    }

    @Test func biasScaleAndReLUApplyInThatOrder() {
        var y: [Float] = [1, -2, 3, -4, 0.5, 6]
        ck_bias_scale_relu_f32(&y, 2, 3, [1, 1, -10], 0.5, 1)
        #expect(y == [1, 0, 0, 0, 0.75, 0])
        var plain: [Float] = [1, -2]
        ck_bias_scale_relu_f32(&plain, 1, 2, nil, 1, 0)
        #expect(plain == [1, -2])
    }
}
