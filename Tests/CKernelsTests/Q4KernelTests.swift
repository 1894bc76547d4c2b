import CKernels
import Foundation
import Testing

/// int4 weights: packing, quantization and ck_matmul_q4 / ck_rows_to_f32_q4 on every instruction set.
/// An extension of the serialized "Kernels" suite, because `ck_set_isa` switches the kernels for the whole process.
extension KernelTests {
    /// int4 weights in ck_matmul_q4's layout at an odd address (as in a memory-mapped checkpoint), with the
    /// exact f32 values they stand for.
    final class StoredQ4 {
        let rows: Int, cols: Int
        let buffer: UnsafeMutableRawPointer
        let data: UnsafeMutablePointer<UInt8>
        let scales: [UInt16]
        let exact: [Float]

        init(_ values: [Float], rows: Int, cols: Int) {
            self.rows = rows
            self.cols = cols
            var packed = [UInt8](repeating: 0, count: rows * cols / 2)
            var scales = [UInt16](repeating: 0, count: rows * cols / Int(CK_Q4_GROUP))
            ck_quantize_rows_q4(values, &packed, &scales, rows, cols)
            self.scales = scales
            exact = StoredQ4.unpack(packed, scales, rows: rows, cols: cols)
            buffer = UnsafeMutableRawPointer.allocate(byteCount: packed.count + 64, alignment: 64)
            data = (buffer + 1).bindMemory(to: UInt8.self, capacity: packed.count)
            data.update(from: packed, count: packed.count)
        }

        deinit { buffer.deallocate() }

        /// The documented layout read back one value at a time (independent of the kernels).
        static func unpack(_ packed: [UInt8], _ scales: [UInt16], rows: Int, cols: Int) -> [Float] {
            let group = Int(CK_Q4_GROUP)
            return (0..<(rows * cols)).map { i in
                let r = i / cols, c = i % cols, g = c / group, j = c % group
                let byte = packed[r * cols / 2 + g * group / 2 + j % (group / 2)]
                let nibble = j < group / 2 ? byte & 15 : byte >> 4
                return ck_f16_to_f32(scales[r * (cols / group) + g]) * Float(Int(nibble) - 8)
            }
        }

        func matmul(_ x: [Float], m: Int, _ range: Range<Int>) -> [Float] {
            var y = [Float](repeating: .nan, count: m * rows)
            ck_matmul_q4(data, scales, x, &y, m, rows, cols, range.lowerBound, range.upperBound)
            return y
        }
    }

    /// Packing: byte j of a group holds columns j (low nibble) and j + 16 (high nibble) plus 8. A group of the
    /// integers -8…7 is stored exactly with scale 1 (zero error, which the search finds), so the stored levels
    /// are the weights themselves.
    @Test func int4PackingLayout() {
        let low: [Float] = (-8...7).map(Float.init)
        let high: [Float] = [7, -8, 3, -3, 0, 5, -1, 2, 6, -6, 1, -4, 4, -2, -7, -5]
        var packed = [UInt8](repeating: 0, count: 16)
        var scales = [UInt16](repeating: 0, count: 1)
        ck_quantize_rows_q4(low + high, &packed, &scales, 1, 32)
        #expect(ck_f16_to_f32(scales[0]) == 1)
        for j in 0..<16 {
            #expect(Int(packed[j] & 15) - 8 == Int(low[j]), "column \(j)")
            #expect(Int(packed[j] >> 4) - 8 == Int(high[j]), "column \(j + 16)")
        }
    }

    /// Σ w² (w − d·q)² over a group's weights (NaN counting as 0), the error the scale search minimizes.
    static func weightedError(_ group: ArraySlice<Float>, _ dequantized: ArraySlice<Float>) -> Double {
        zip(group, dequantized).reduce(0.0) { sum, pair in
            let w = pair.0.isNaN ? 0 : Double(pair.0), r = w - Double(pair.1)
            return sum + w * w * r * r
        }
    }

    /// Whatever scale the search keeps, the levels are W · (1 / scale) rounded half to even and clamped to
    /// -8…7, and the scale is near max|W| / 7: the searched inverse scales put the largest magnitude on level
    /// -(7…9), and refitting moves them by a few percent (measured 0.81–1.05 × max / 7 on uniform, normal
    /// and heavy-tailed rows).
    @Test func int4LevelsAreNearestToTheScaleAndZeroGroupsStayZero() {
        let rows = 7, cols = 96
        var values = Self.random(rows * cols, seed: 11).map { $0 * 3 }
        for c in 32..<64 { values[2 * cols + c] = 0 }  // an all-zero group
        values[5 * cols + 3] = .nan
        let stored = StoredQ4(values, rows: rows, cols: cols)
        let group = Int(CK_Q4_GROUP)
        for r in 0..<rows {
            for g in 0..<(cols / group) {
                let slice = (0..<group).map { values[r * cols + g * group + $0] }
                let maximum = slice.filter { !$0.isNaN }.map(abs).max() ?? 0
                let scale = ck_f16_to_f32(stored.scales[r * (cols / group) + g])
                #expect(abs(scale) >= maximum / 9.5 && abs(scale) <= maximum / 6.5, "row \(r) group \(g): scale \(scale), max \(maximum)")
                let inverse = scale != 0 ? 1 / scale : 0
                for j in 0..<group {
                    let i = r * cols + g * group + j
                    if values[i].isNaN {
                        #expect(stored.exact[i] == 0)
                    } else {
                        let level = min(7, max(-8, (values[i] * inverse).rounded(.toNearestOrEven)))
                        #expect(stored.exact[i] == scale * level, "row \(r) col \(g * group + j)")
                    }
                }
            }
        }
        #expect((32..<64).allSatisfy { stored.exact[2 * cols + $0] == 0 })
        #expect(stored.scales[2 * 3 + 1] == 0)
    }

    /// The search starts from the absmax scale f16(max|W| / 7) and keeps another only where it leaves less error,
    /// so on any rows its weighted error is never above absmax's (within the f32 rounding of the search's own
    /// sums), and in total below (0.88 of it on these rows, where the outlier groups dominate; about 0.6 on
    /// uniform or normal rows).
    @Test("int4's searched scales never leave more error than the absmax scale", arguments: [1, 0.001, 1000] as [Float])
    func int4SearchedScaleNeverWorseThanAbsmax(magnitude: Float) {
        let rows = 64, cols = 256, group = Int(CK_Q4_GROUP)
        // Uniform, cubed (many small weights beside a few large), and with an outlier every 37 weights.
        var values = Self.random(rows * cols, seed: 21).enumerated().map { i, v -> Float in
            let u = i / (rows * cols / 3) == 0 ? v : i / (rows * cols / 3) == 1 ? v * v * v : (i % 37 == 0 ? 20 * v : v)
            return u * magnitude
        }
        values[5] = .nan
        let stored = StoredQ4(values, rows: rows, cols: cols)
        var searchedTotal = 0.0, absmaxTotal = 0.0
        for start in stride(from: 0, to: rows * cols, by: group) {
            let slice = values[start..<(start + group)]
            let maximum = slice.filter { !$0.isNaN }.map(abs).max() ?? 0
            var half: UInt16 = 0
            ck_f32_to_f16([maximum / 7], &half, 1)
            let scale = ck_f16_to_f32(half)
            let absmax = slice.map { v -> Float in
                v.isNaN || scale == 0 ? 0 : scale * min(7, max(-8, (v / scale).rounded(.toNearestOrEven)))
            }
            let searched = Self.weightedError(slice, stored.exact[start..<(start + group)])
            let reference = Self.weightedError(slice, absmax[...])
            #expect(searched <= reference * (1 + 1e-5), "group at \(start): \(searched) > absmax \(reference)")
            searchedTotal += searched
            absmaxTotal += reference
        }
        #expect(searchedTotal < 0.95 * absmaxTotal, "searched \(searchedTotal), absmax \(absmaxTotal)")
    }

    @Test("int4 rows convert to the exact f32 values of the layout")
    func int4RowConversion() {
        let rows = 9, cols = 160
        let stored = StoredQ4(Self.random(rows * cols, seed: 12), rows: rows, cols: cols)
        Self.forEachISA { isa in
            var out = [Float](repeating: .nan, count: 4 * cols)
            ck_rows_to_f32_q4(stored.data, stored.scales, &out, cols, 3, 7)
            #expect(out == Array(stored.exact[(3 * cols)..<(7 * cols)]), "isa \(isa)")
        }
    }

    /// How a path takes its inputs: exact in f32 (portable, NEON), quantized to int8 per block of 32 (AVX2's row
    /// kernel, AVX-512 VNNI's batches), or per block of 256 with the groups' scales as integers (AVX2's tiles).
    enum Q4Inputs {
        case exact, blocksOf32, tiles

        /// The path ck_matmul_q4 takes for m inputs on instruction set `isa`.
        static func of(isa: Int32, m: Int) -> Q4Inputs {
            guard isa == Int32(CK_ISA_AVX2) else { return .exact }
            return ck_q4_gemm() == Int32(CK_GEMM_AVX2) && ck_q4_gemm_takes(m) != 0 ? .tiles : .blocksOf32
        }
    }

    /// Each path against a double-precision sum over the dequantized weights. Tolerance: 1e-5 · Σ|W·x| for
    /// f32 rounding (as the other formats' tests); where the inputs are quantized also Σ_c |W[r,c]| · max|x in c's
    /// block| / 254 for their int8 rounding and 1e-6 · Σ_g scale_g · 8 · Σ_{c in g} |x_c| for the f32 rounding of
    /// the "Σ u·x − 8·Σ x" split, whose two terms can be far larger than the result; on the tiles also
    /// Σ_c 8 · max|scale over c's block| / 16382 · |x_c| for the groups' scales rounded to integers.
    static func expectQ4Matches(_ y: [Float], _ stored: StoredQ4, _ x: [Float], m: Int, _ range: Range<Int>, inputs: Q4Inputs,
                                _ label: String) {
        forEachQ4Output(stored, x, m: m, inputs: inputs) { i, r, terms in
            let value = y[i * stored.rows + r]
            guard range.contains(r) else {
                #expect(value.isNaN, "\(label): row \(r) outside the range was written")
                return
            }
            let quantized = inputs == .exact ? 0 : terms.inputBound + 1e-6 * terms.splitBound + terms.scaleBound
            let bound = 1e-5 * terms.magnitude + 1e-6 + quantized
            #expect(abs(Double(value) - terms.reference) <= bound, "\(label): i=\(i) r=\(r) got \(value) want \(terms.reference)")
        }
    }

    /// For each input i and row r: the double reference and the bounds `expectQ4Matches` describes, for `inputs`
    /// (an exact path gets the bounds of blocks of 32).
    static func forEachQ4Output(_ stored: StoredQ4, _ x: [Float], m: Int, inputs: Q4Inputs = .blocksOf32,
                                _ body: (Int, Int, (reference: Double, magnitude: Double, inputBound: Double, splitBound: Double,
                                                    scaleBound: Double)) -> Void) {
        let rows = stored.rows, cols = stored.cols, group = Int(CK_Q4_GROUP)
        let block = inputs == .tiles ? 8 * group : group
        let scale = { (r: Int, c: Int) in Double(ck_f16_to_f32(stored.scales[r * (cols / group) + c / group])) }
        // Per row, the largest |scale| of each block.
        let scaleMax = (0..<rows).map { r in
            stride(from: 0, to: cols, by: block).map { start in
                stride(from: start, to: min(start + block, cols), by: group).map { abs(scale(r, $0)) }.max() ?? 0
            }
        }
        for i in 0..<m {
            let xi = Array(x[(i * cols)..<((i + 1) * cols)])
            let blockMax = stride(from: 0, to: cols, by: block).map { xi[$0..<min($0 + block, cols)].map(abs).max() ?? 0 }
            for r in 0..<rows {
                var reference = 0.0, magnitude = 0.0, inputBound = 0.0, splitBound = 0.0, scaleBound = 0.0
                for c in 0..<cols {
                    let w = Double(stored.exact[r * cols + c]), xc = Double(xi[c])
                    reference += w * xc
                    magnitude += abs(w * xc)
                    inputBound += abs(w) * Double(blockMax[c / block]) / 254
                    splitBound += scale(r, c) * 8 * abs(xc)
                    if inputs == .tiles { scaleBound += 8 * scaleMax[r][c / block] / 16382 * abs(xc) }
                }
                body(i, r, (reference, magnitude, inputBound, splitBound, scaleBound))
            }
        }
    }

    /// Batches of 16 and more run on AVX2's tiles of 16 rows, three inputs a pass (16, 23 and 33 end on passes of
    /// 1, 2 and 3 inputs); fewer on the row kernel.
    @Test("int4 matmul matches a double reference for every size, batch 1…9, 16, 18, 23 and 33, and row range")
    func int4MatmulMatchesReference() {
        // Group counts 1, 3, 7, 8, 9 and 24: partial and whole chunks of eight groups, odd pairs.
        let shapes = [(1, 32), (5, 96), (37, 224), (16, 256), (6, 288), (64, 768)]
        Self.forEachISA { isa in
            for (rows, cols) in shapes {
                let stored = StoredQ4(Self.random(rows * cols, seed: UInt64(rows * cols)), rows: rows, cols: cols)
                for m in Array(1...9) + [16, 18, 23, 33] {
                    let x = Self.random(m * cols, seed: UInt64(m + 100))
                    for range in [0..<rows, (rows / 3)..<rows] {
                        let y = stored.matmul(x, m: m, range)
                        Self.expectQ4Matches(y, stored, x, m: m, range, inputs: .of(isa: isa, m: m),
                                             "isa \(isa) \(rows)×\(cols) m=\(m) rows \(range)")
                    }
                }
            }
        }
    }

    /// Whether batches of int4 weights can run on AVX-512 VNNI here.
    static let hasQ4VNNI = ck_has(UInt32(CK_FEATURE_AVX512F | CK_FEATURE_AVX512BW | CK_FEATURE_AVX512VNNI | CK_FEATURE_F16C)) != 0

    /// The VNNI kernel takes the inputs of AVX2's row kernel and so makes the same integer sums per group; only the
    /// f32 sums of the scaled groups differ in order, so the two agree within f32 rounding (no input-quantization
    /// term) on batches of 12…15 inputs (the VNNI kernel's tails of 0…3 after tiles of 4; AVX2's row kernel). At 37
    /// inputs AVX2 runs its tiles (inputs per block of 256), so there each matches the reference with its own
    /// inputs' bound. Tiles of 32 rows cut by the row range, odd group counts (the last 64 columns half full).
    @Test("int4 batches on AVX-512 VNNI: the AVX2 row kernel's integer sums, added in another order",
          .enabled(if: hasQ4VNNI, "this processor has no AVX-512 VNNI: int4 batches run on the AVX2 kernel"))
    func int4VNNIMatchesAVX2() {
        ck_set_isa(Self.isas[0])
        defer { ck_set_q8_gemm(ck_default_q8_gemm()) }
        for (rows, cols) in [(1, 32), (5, 96), (37, 224), (33, 288), (70, 768)] {
            let stored = StoredQ4(Self.random(rows * cols, seed: UInt64(rows + cols)), rows: rows, cols: cols)
            for m in [12, 13, 14, 15, 37] {
                let x = Self.random(m * cols, seed: UInt64(m + 7))
                for range in [0..<rows, (rows / 3)..<rows] {
                    #expect(ck_set_q8_gemm(Int32(CK_GEMM_AVX512VNNI)) == Int32(CK_GEMM_AVX512VNNI) && ck_q4_gemm() == Int32(CK_GEMM_AVX512VNNI))
                    let vnni = stored.matmul(x, m: m, range)
                    ck_set_q8_gemm(Int32(CK_GEMM_NONE))
                    #expect(ck_q4_gemm() == Int32(CK_GEMM_AVX2))
                    let avx2Inputs = Q4Inputs.of(isa: Self.isas[0], m: m)
                    let avx2 = stored.matmul(x, m: m, range)
                    let label = "\(rows)×\(cols) m=\(m) rows \(range)"
                    Self.expectQ4Matches(vnni, stored, x, m: m, range, inputs: .blocksOf32, "VNNI \(label)")
                    guard avx2Inputs == .blocksOf32 else {
                        Self.expectQ4Matches(avx2, stored, x, m: m, range, inputs: avx2Inputs, "AVX2 \(label)")
                        continue
                    }
                    Self.forEachQ4Output(stored, x, m: m) { i, r, terms in
                        guard range.contains(r) else { return }
                        let a = vnni[i * rows + r], b = avx2[i * rows + r]
                        #expect(abs(Double(a) - Double(b)) <= 1e-5 * terms.magnitude + 1e-6 * terms.splitBound + 1e-6,
                                "\(label): i=\(i) r=\(r) VNNI \(a) AVX2 \(b)")
                    }
                }
            }
        }
    }

    /// The `vpdpbusd` flavours this processor has (AVX-512 VNNI's encoding uncapped, AVX-VNNI's under the
    /// `avx2-vnni` cap), each with the cap that selects it; maddubs under the `avx2` cap.
    static let dotFlavours: [(cap: String?, flavour: Int32)] = {
        defer { ck_set_max_isa(ProcessInfo.processInfo.environment["OPTIML_MAX_ISA"]) }
        return [nil, "avx2-vnni"].compactMap { (cap: String?) -> (String?, Int32)? in
            ck_set_max_isa(cap)
            let flavour = ck_dot_flavour()
            return flavour == Int32(CK_DOT_NONE) ? nil : (cap, flavour)
        }
    }()

    /// The AVX2 table's byte products by `vpdpbusd` (AVX-512 VNNI or AVX-VNNI) make the integers that maddubs and madd
    /// make, in the same layout and order: int8 decode, int4 batches on the row kernel (under a dozen inputs) and on
    /// AVX2's tiles (16 inputs on, with AVX-512 VNNI's int4 kernel off) give the maddubs flavour's bits.
    @Test("int8 decode and int4 row and tile kernels: the same bits from vpdpbusd (each encoding here) as from maddubs",
          .enabled(if: isas[0] == Int32(CK_ISA_AVX2) && !dotFlavours.isEmpty,
                   "this processor has neither AVX-512 VNNI with VL nor AVX-VNNI: only maddubs runs"))
    func dotFlavoursGiveTheSameBits() {
        ck_set_isa(Self.isas[0])
        ck_set_q8_gemm(Int32(CK_GEMM_NONE))
        defer {
            ck_set_max_isa(ProcessInfo.processInfo.environment["OPTIML_MAX_ISA"])
            ck_set_q8_gemm(ck_default_q8_gemm())
        }
        func products(cap: String?) -> [[UInt32]] {
            #expect(ck_set_max_isa(cap) == 1)
            var out: [[UInt32]] = []
            for (rows, cols) in [(1, 32), (5, 96), (37, 224), (6, 288), (9, 4096)] {
                let int8 = Stored(Self.random(rows * cols, seed: UInt64(rows * 5 + cols)), rows: rows, cols: cols, format: .int8)
                out.append(int8.matmul(Self.random(cols, seed: UInt64(cols + 1)), m: 1, (rows / 3)..<rows).map(\.bitPattern))
                let int4 = StoredQ4(Self.random(rows * cols, seed: UInt64(rows * 3 + cols)), rows: rows, cols: cols)
                for m in Array(1...11) + [16, 23, 33] {
                    #expect((ck_q4_gemm_takes(m) != 0) == (m >= 16) && ck_q4_gemm() == Int32(CK_GEMM_AVX2))
                    out.append(int4.matmul(Self.random(m * cols, seed: UInt64(m + 300)), m: m, (rows / 3)..<rows).map(\.bitPattern))
                }
            }
            return out
        }
        let maddubs = products(cap: "avx2")
        #expect(ck_dot_flavour() == Int32(CK_DOT_NONE))
        for (cap, flavour) in Self.dotFlavours {
            let vnni = products(cap: cap)
            #expect(ck_dot_flavour() == flavour)
            #expect(vnni == maddubs, "flavour \(flavour) (cap \(cap ?? "none")) against maddubs")
        }
    }

    @Test("OPTIML_MAX_ISA's caps: avx2-vnni keeps AVX-VNNI and drops AVX-512; other values change nothing")
    func featureCaps() {
        defer { ck_set_max_isa(ProcessInfo.processInfo.environment["OPTIML_MAX_ISA"]) }
        #expect(ck_set_max_isa(nil) == 1)
        let all = ck_cpu_features()
        #expect(ck_set_max_isa("avx512") == 0 && ck_cpu_features() == all, "a value not understood caps nothing")
        #expect(ck_set_max_isa("avx2-vnni") == 1)
        let avx2 = UInt32(CK_FEATURE_AVX2 | CK_FEATURE_FMA | CK_FEATURE_F16C | CK_FEATURE_NARROW_AVX)
        #expect(ck_cpu_features() == all & (avx2 | UInt32(CK_FEATURE_AVXVNNI)))
        #expect(ck_set_max_isa("avx2") == 1 && ck_cpu_features() == all & avx2)
        #expect(ck_set_max_isa("portable") == 1 && ck_cpu_features() == 0)
    }

    /// AVX2's tiles take each group's scale as an integer k ≤ 8191 under the largest of its 256 columns: groups
    /// whose scales span six orders of magnitude (down to k = 0) and an all-zero group stay within the bound for that
    /// rounding, at the 16 to 33 inputs the tiles run (AVX-512 VNNI's int4 kernel, which would take them, off). The
    /// inputs are integers with 127 in every block of 256, so their quantization is exact and the scales' rounding is all
    /// that is left beside f32's.
    @Test("int4 tiles: groups whose scales span six orders of magnitude in a block of 256 columns",
          .enabled(if: isas[0] == Int32(CK_ISA_AVX2), "AVX2's tiles need AVX2"))
    func int4TilesWideScaleSpread() {
        ck_set_q8_gemm(Int32(CK_GEMM_NONE))
        defer { ck_set_q8_gemm(ck_default_q8_gemm()) }
        let rows = 19, cols = 800, block = 8 * Int(CK_Q4_GROUP)
        let values = Self.random(rows * cols, seed: 15).enumerated().map { i, v in
            let g = (i % cols) / Int(CK_Q4_GROUP)
            return g == 3 ? 0 : v * Float(pow(10.0, -Double((g + i / cols) % 7)))
        }
        let stored = StoredQ4(values, rows: rows, cols: cols)
        ck_set_isa(Self.isas[0])
        for m in [16, 33] {
            let x = Self.random(m * cols, seed: UInt64(m + 400)).enumerated().map { i, v in
                i % cols % block == 0 ? 127 : (v * 127).rounded()
            }
            let y = stored.matmul(x, m: m, 0..<rows)
            let inputs = Q4Inputs.of(isa: Self.isas[0], m: m)
            #expect(inputs == .tiles)
            Self.forEachQ4Output(stored, x, m: m, inputs: inputs) { i, r, terms in
                let bound = 1e-5 * terms.magnitude + 1e-6 * terms.splitBound + terms.scaleBound + 1e-6
                #expect(abs(Double(y[i * rows + r]) - terms.reference) <= bound, "\(inputs) m=\(m) i=\(i) r=\(r)")
            }
        }
    }

    /// The two-step batch API (threads sharing one preparation of the inputs): inputs prepared in two parts, then
    /// any run of them multiplied over any row range, give the bits of ck_matmul_q4 of that run alone, and leave the
    /// other inputs' results untouched; on AVX2's tiles and, where the processor has it, on AVX-512 VNNI's kernel. Where
    /// no batch kernel runs (no AVX2), there is nothing to prepare.
    @Test("int4 inputs prepared once: the same bits as ck_matmul_q4 of each run of them")
    func int4PreparedInputs() {
        defer { ck_set_q8_gemm(ck_default_q8_gemm()) }
        let batchKernels = [Int32(CK_GEMM_NONE)] + (Self.hasQ4VNNI ? [Int32(CK_GEMM_AVX512VNNI)] : [])
        Self.forEachISA { isa in
            for batchKernel in batchKernels {
                ck_set_q8_gemm(batchKernel)
                for (rows, cols) in [(37, 224), (20, 800)] {
                    let stored = StoredQ4(Self.random(rows * cols, seed: UInt64(rows + 2 * cols)), rows: rows, cols: cols)
                    let m = 70
                    let bytes = ck_q4_prepared_bytes(m, cols)
                    let path = "isa \(isa) int4 GEMM \(ck_q4_gemm())"
                    guard ck_q4_gemm_takes(m) != 0 else {
                        #expect(bytes == 0, "\(path): nothing to prepare")
                        continue
                    }
                    #expect(ck_q4_prepared_bytes(11, cols) == 0, "\(path): 11 inputs run on the row kernel")
                    let x = Self.random(m * cols, seed: UInt64(cols + 9))
                    let prepared = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
                    defer { prepared.deallocate() }
                    ck_q4_prepare_inputs(x, m, cols, prepared, 0, 33)
                    ck_q4_prepare_inputs(x, m, cols, prepared, 33, m)
                    for (first, count) in [(0, m), (5, 16), (40, 30)] {
                        for range in [0..<rows, (rows / 3)..<(rows - 2)] {
                            var y = [Float](repeating: .nan, count: m * rows)
                            #expect(ck_matmul_q4_prepared(stored.data, stored.scales, prepared, &y, m, rows, cols, first, count,
                                                          range.lowerBound, range.upperBound) == 0)
                            let alone = stored.matmul(Array(x[(first * cols)..<((first + count) * cols)]), m: count, range)
                            let label = "\(path) \(rows)×\(cols) inputs \(first)..<\(first + count) rows \(range)"
                            #expect(Array(y[(first * rows)..<((first + count) * rows)]).map(\.bitPattern) == alone.map(\.bitPattern),
                                    "\(label)")
                            let others = y[..<(first * rows)].allSatisfy(\.isNaN) && y[((first + count) * rows)...].allSatisfy(\.isNaN)
                            #expect(others, "\(label): another input's results were written")
                        }
                    }
                }
            }
        }
    }

    @Test("int4 matmul: wide inputs (heap-held on AVX2) and an empty row range")
    func int4WideAndEmpty() {
        let rows = 3, cols = 4096, m = 9
        let stored = StoredQ4(Self.random(rows * cols, seed: 13), rows: rows, cols: cols)
        let x = Self.random(m * cols, seed: 14)
        Self.forEachISA { isa in
            Self.expectQ4Matches(stored.matmul(x, m: m, 0..<rows), stored, x, m: m, 0..<rows,
                                 inputs: .of(isa: isa, m: m), "isa \(isa) wide")
            let untouched = stored.matmul(x, m: m, 2..<2).allSatisfy { $0.isNaN }
            #expect(untouched, "isa \(isa)")
        }
    }
}
