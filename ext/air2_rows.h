/* AIR 2's row functions, written once for two value types (no include guard: ext/air2.c
 * includes this file twice). The main and fixed values are of type VAL: fe for the
 * prover on the LDE domain and for building the auxiliary columns, fe3 for the verifier
 * at z. The auxiliary values, the challenges and the rom column are in K either way.
 *
 * Before including, air2.c defines
 *   SUFFIX        the name suffix (base / ext)
 *   VAL           fe or fe3
 *   V_ADD, V_SUB, V_MUL   arithmetic on VAL
 *   V_CONST(k)    the small constant k (< p) as a VAL
 *   V_EXT(x)      x as an element of K
 *   E_MUL_V(e, x) e * x for e in K, x a VAL
 * The column numbers C_* and the challenge layout come from air2.c.
 */

#define FN_(name, suffix) name##_##suffix
#define FN(name, suffix) FN_(name, suffix)

/* enc(tag, x_1 .. x_n) = tag + sum_i beta^i x_i (protocol.md 13). For base values
 * (V_IS_BASE) the products are summed exactly in 128-bit accumulators and reduced once
 * per coordinate: the same element, a third of the reductions. */
static fe3 FN(enc, SUFFIX)(const zk_air2_challenges *ch, unsigned tag, const VAL *x,
                           unsigned n) {
#ifdef V_IS_BASE
    zk_wide s0 = {tag, 0}, s1 = {0, 0}, s2 = {0, 0};
    for (unsigned i = 0; i < n; i++) {
        wide_mac(&s0, ch->beta_pow[i + 1].c0, x[i]);
        wide_mac(&s1, ch->beta_pow[i + 1].c1, x[i]);
        wide_mac(&s2, ch->beta_pow[i + 1].c2, x[i]);
    }
    return (fe3){wide_reduce(&s0), wide_reduce(&s1), wide_reduce(&s2)};
#else
    fe3 acc = e_from(tag);
    for (unsigned i = 0; i < n; i++) acc = e_add(acc, E_MUL_V(ch->beta_pow[i + 1], x[i]));
    return acc;
#endif
}

/* The 25 fractions m_i / (alpha - v_i) of one row (protocol.md 13), in canonical order:
 * their multiplicities into m[] and their denominators' v into v[]. */
static void FN(fractions, SUFFIX)(const zk_air2_challenges *ch, const VAL *c, fe3 rom,
                                  const VAL *fx, VAL *m, fe3 *v) {
    const VAL zero = V_CONST(0), minus1 = V_CONST(ZK_P - 1);
    const VAL clk4 = V_MUL(V_CONST(4), c[C_CLK]);
    VAL ts[4];
    for (unsigned x = 0; x < 4; x++) ts[x] = V_ADD(clk4, V_CONST(x + 1));
    const VAL eA = c[C_EA], eB = c[C_EB];
    const VAL eM = V_ADD(c[C_LOAD], c[C_STORE]);
    const VAL eC = V_ADD(V_ADD(V_ADD(c[C_LIN], c[C_MUL]), V_ADD(c[C_INV], c[C_LOAD])),
                         c[C_READ]);
    const VAL addr = V_ADD(c[C_VA], c[C_IMM]);

    VAL fetch[21];
    fetch[0] = c[C_PC];
    for (unsigned i = 0; i < 20; i++) fetch[i + 1] = c[C_FIELDS + i];
    m[0] = minus1;
    v[0] = FN(enc, SUFFIX)(ch, TAG_FETCH, fetch, 21);
    m[1] = c[C_M_ROM];
    v[1] = e_add(e_add(e_from(TAG_FETCH), E_MUL_V(ch->beta_pow[1], c[C_CLK])), rom);

    /* The four ports: consume the previous token, leave a fresh one. */
    const VAL port_e[4] = {eA, eB, eM, eC};
    const VAL port_id[4] = {c[C_RA], c[C_RB], addr, c[C_RD]};
    const VAL port_pts[4] = {c[C_PTSA], c[C_PTSB], c[C_PTSM], c[C_PTSC]};
    const VAL port_pv[4] = {c[C_VA], c[C_VB], c[C_PVM], c[C_PVC]};
    const VAL port_v[4] = {c[C_VA], c[C_VB], c[C_VM], c[C_VC]};
    for (unsigned x = 0; x < 4; x++) {
        unsigned tag = x == 2 ? TAG_RAM : TAG_REG;
        VAL before[3] = {port_id[x], port_pts[x], port_pv[x]};
        VAL after[3] = {port_id[x], ts[x], port_v[x]};
        m[2 + 2 * x] = V_SUB(zero, port_e[x]);
        v[2 + 2 * x] = FN(enc, SUFFIX)(ch, tag, before, 3);
        m[3 + 2 * x] = port_e[x];
        v[3 + 2 * x] = FN(enc, SUFFIX)(ch, tag, after, 3);
    }
    const unsigned q_col[4] = {C_QA, C_QB, C_QM, C_QC};
    for (unsigned x = 0; x < 4; x++) {
        m[10 + x] = V_SUB(zero, port_e[x]);
        v[10 + x] = FN(enc, SUFFIX)(ch, TAG_RANGE, &c[q_col[x]], 1);
    }
    m[14] = c[C_M_CLK];
    v[14] = FN(enc, SUFFIX)(ch, TAG_RANGE, &c[C_CLK], 1);

    VAL in[2] = {c[C_PTR_IN], c[C_VC]}, out[2] = {c[C_PTR_OUT], c[C_VA]};
    m[15] = V_SUB(zero, c[C_READ]);
    v[15] = FN(enc, SUFFIX)(ch, TAG_IN, in, 2);
    m[16] = c[C_WRITE];
    v[16] = FN(enc, SUFFIX)(ch, TAG_OUT, out, 2);

    VAL reg_final[3] = {c[C_CLK], c[C_REG_FTS], c[C_REG_FV]};
    m[17] = V_SUB(zero, fx[FX_REG_VALID]);
    v[17] = FN(enc, SUFFIX)(ch, TAG_REG, reg_final, 3);
    VAL ram_init[3] = {c[C_RAM_A], zero, zero};
    VAL ram_final[3] = {c[C_RAM_A], c[C_RAM_FTS], c[C_RAM_FV]};
    m[18] = c[C_RAM_U];
    v[18] = FN(enc, SUFFIX)(ch, TAG_RAM, ram_init, 3);
    m[19] = V_SUB(zero, c[C_RAM_U]);
    v[19] = FN(enc, SUFFIX)(ch, TAG_RAM, ram_final, 3);

    for (unsigned i = 0; i < 4; i++) {
        m[20 + i] = minus1;
        v[20 + i] = FN(enc, SUFFIX)(ch, TAG_BYTE, &c[C_B0 + i], 1);
    }
    m[24] = c[C_M_BYTE];
    v[24] = FN(enc, SUFFIX)(ch, TAG_BYTE, &fx[FX_BYTE], 1);
}

/* L = b0 + 2^8 b1 + 2^16 b2 + 2^24 b3 */
static VAL FN(gap, SUFFIX)(const VAL *c) {
    VAL l = c[C_B0 + 3];
    for (int i = 2; i >= 0; i--) l = V_ADD(V_MUL(l, V_CONST(256)), c[C_B0 + i]);
    return l;
}

/* rX (rX - 1)(rX - 2)(rX - 3): rX is a base-4 digit. */
static VAL FN(digit, SUFFIX)(VAL r) {
    return V_MUL(V_MUL(r, V_SUB(r, V_CONST(1))), V_MUL(V_SUB(r, V_CONST(2)), V_SUB(r, V_CONST(3))));
}

/* The LogUp group constraint A * d1 d2 d3 - m1 d2 d3 - m2 d1 d3 - m3 d1 d2 (k = 3) or
 * A * d1 - m1 (k = 1), with d_i = alpha - v_i. */
static fe3 FN(group, SUFFIX)(const zk_air2_challenges *ch, fe3 a, const VAL *m, const fe3 *v,
                             unsigned k) {
#ifdef V_IS_BASE
    /* The same value as d1 (A d2 d3 - m2 d3 - m3 d2) - m1 d2 d3: three products in K, every
     * sum of products (base multiples included) taken in 128 bits and reduced once per
     * coordinate. */
    fe3 d1 = e_sub(ch->alpha, v[0]);
    if (k == 1) {
        zk_wide w[3] = {{f_neg(m[0]), 0}, {0, 0}, {0, 0}};
        e_mul_acc(w, a, d1);
        return e_wide_reduce(w);
    }
    fe3 d2 = e_sub(ch->alpha, v[1]), d3 = e_sub(ch->alpha, v[2]);
    fe3 d23 = e_mul(d2, d3);
    fe nm1 = f_neg(m[0]), nm2 = f_neg(m[1]), nm3 = f_neg(m[2]);
    zk_wide w[3] = {{0, 0}, {0, 0}, {0, 0}}; /* A d2 d3 - m2 d3 - m3 d2 */
    e_mul_acc(w, a, d23);
    wide_mac(&w[0], d3.c0, nm2);
    wide_mac(&w[0], d2.c0, nm3);
    wide_mac(&w[1], d3.c1, nm2);
    wide_mac(&w[1], d2.c1, nm3);
    wide_mac(&w[2], d3.c2, nm2);
    wide_mac(&w[2], d2.c2, nm3);
    zk_wide r[3] = {{0, 0}, {0, 0}, {0, 0}};
    e_mul_acc(r, d1, e_wide_reduce(w));
    wide_mac(&r[0], d23.c0, nm1);
    wide_mac(&r[1], d23.c1, nm1);
    wide_mac(&r[2], d23.c2, nm1);
    return e_wide_reduce(r);
#else
    if (k == 1) return e_sub(e_mul(a, e_sub(ch->alpha, v[0])), V_EXT(m[0]));
    fe3 d1 = e_sub(ch->alpha, v[0]), d2 = e_sub(ch->alpha, v[1]), d3 = e_sub(ch->alpha, v[2]);
    /* = d2 d3 (A d1 - m1) - d1 (m2 d3 + m3 d2): four products in K instead of five */
    fe3 t = e_sub(e_mul(a, d1), V_EXT(m[0]));
    fe3 u = e_add(E_MUL_V(d3, m[1]), E_MUL_V(d2, m[2]));
    return e_sub(e_mul(e_mul(d2, d3), t), e_mul(d1, u));
#endif
}

static void FN(eval, SUFFIX)(const zk_air2_challenges *ch, const VAL *c, const VAL *n,
                             const fe3 *aux, const fe3 *aux_next, fe3 rom, const VAL *fx,
                             fe3 *out) {
    const VAL one = V_CONST(1);
    VAL base[ZK_AIR2_N_CONSTRAINTS];
    unsigned k = 0;

    /* 1-5: the ports. */
    const unsigned r_col[4] = {C_RA_DIGIT, C_RB_DIGIT, C_RM_DIGIT, C_RC_DIGIT};
    for (unsigned x = 0; x < 4; x++) base[k++] = FN(digit, SUFFIX)(c[r_col[x]]);
    const VAL vA = c[C_VA], vB = c[C_VB], vAh = V_MUL(vA, c[C_H]);
    base[k++] = V_MUL(vA, V_SUB(one, vAh));
    base[k++] = V_MUL(V_SUB(one, c[C_EA]), vA);
    base[k++] = V_MUL(V_SUB(one, c[C_EB]), vB);
    const VAL vC = c[C_VC], vM = c[C_VM], imm = c[C_IMM];
    base[k++] = V_MUL(c[C_LIN], V_SUB(V_SUB(V_SUB(vC, vA), V_MUL(c[C_SGN], vB)), imm));
    base[k++] = V_MUL(c[C_MUL], V_SUB(vC, V_MUL(vA, V_ADD(vB, imm))));
    base[k++] = V_MUL(c[C_INV], V_SUB(V_MUL(vA, vC), one));
    base[k++] = V_MUL(c[C_ASSERT], V_SUB(vA, vB));
    base[k++] = V_MUL(c[C_LOAD], V_SUB(vC, vM));
    base[k++] = V_MUL(c[C_LOAD], V_SUB(vM, c[C_PVM]));
    base[k++] = V_MUL(c[C_STORE], V_SUB(vM, vB));
    const VAL eM = V_ADD(c[C_LOAD], c[C_STORE]);
    const VAL eC = V_ADD(V_ADD(V_ADD(c[C_LIN], c[C_MUL]), V_ADD(c[C_INV], c[C_LOAD])),
                         c[C_READ]);
    const VAL port_e[4] = {c[C_EA], c[C_EB], eM, eC};
    const unsigned pts_col[4] = {C_PTSA, C_PTSB, C_PTSM, C_PTSC};
    const unsigned q_col[4] = {C_QA, C_QB, C_QM, C_QC};
    const VAL clk4 = V_MUL(V_CONST(4), c[C_CLK]);
    for (unsigned x = 0; x < 4; x++) {
        VAL ts = V_ADD(clk4, V_CONST(x + 1));
        VAL d = V_SUB(V_SUB(ts, c[pts_col[x]]), one);
        d = V_SUB(V_SUB(d, V_MUL(V_CONST(4), c[q_col[x]])), c[r_col[x]]);
        base[k++] = V_MUL(port_e[x], d);
    }
    /* 6-8 */
    base[k++] = V_MUL(c[C_M_ROM], V_SUB(one, fx[FX_ROM_VALID]));
    base[k++] = V_MUL(c[C_RAM_U], V_SUB(one, c[C_RAM_U]));
    base[k++] = V_MUL(fx[FX_OUT_SEL], V_SUB(c[C_REG_FV], fx[FX_OUT_VAL]));
    for (unsigned i = 0; i < k; i++) out[i] = V_EXT(base[i]);

    /* 9: the LogUp groups. */
    VAL m[ZK_AIR2_FRACTIONS];
    fe3 v[ZK_AIR2_FRACTIONS];
    FN(fractions, SUFFIX)(ch, c, rom, fx, m, v);
    fe3 sum_a = E_ZERO;
    for (unsigned g = 0; g < 9; g++) {
        out[k++] = FN(group, SUFFIX)(ch, aux[g], &m[3 * g], &v[3 * g], g < 8 ? 3 : 1);
        sum_a = e_add(sum_a, aux[g]);
    }

    /* Transition 10-14. */
    const VAL jump = V_ADD(V_ADD(c[C_JMP], V_MUL(c[C_JZ], V_SUB(one, vAh))), V_MUL(c[C_JNZ], vAh));
    VAL next_pc = V_SUB(V_ADD(c[C_PC], one), c[C_HALT]);
    next_pc = V_ADD(next_pc, V_MUL(V_SUB(V_SUB(c[C_TARGET], c[C_PC]), one), jump));
    const VAL u = c[C_RAM_U], u_next = n[C_RAM_U], l_next = FN(gap, SUFFIX)(n);
    VAL trans[7];
    trans[0] = V_SUB(V_SUB(n[C_CLK], c[C_CLK]), one);
    trans[1] = V_SUB(n[C_PC], next_pc);
    trans[2] = V_SUB(V_SUB(n[C_PTR_IN], c[C_PTR_IN]), c[C_READ]);
    trans[3] = V_SUB(V_SUB(n[C_PTR_OUT], c[C_PTR_OUT]), c[C_WRITE]);
    trans[4] = V_MUL(u_next, V_SUB(one, u));
    trans[5] = V_MUL(u_next, V_SUB(V_SUB(V_SUB(n[C_RAM_A], c[C_RAM_A]), one), l_next));
    trans[6] = V_MUL(V_MUL(u, V_SUB(one, u_next)),
                     V_SUB(V_SUB(V_CONST(0xFFFFFFFFULL), c[C_RAM_A]), l_next));
    for (unsigned i = 0; i < 7; i++) out[k++] = V_EXT(trans[i]);
    out[k++] = e_sub(e_sub(aux_next[AUX_S], aux[AUX_S]), sum_a);

    /* First row 15. */
    out[k++] = V_EXT(c[C_CLK]);
    out[k++] = V_EXT(c[C_PC]);
    out[k++] = V_EXT(c[C_PTR_IN]);
    out[k++] = V_EXT(c[C_PTR_OUT]);
    out[k++] = aux[AUX_S];
    out[k++] = V_EXT(V_MUL(u, V_SUB(c[C_RAM_A], FN(gap, SUFFIX)(c))));

    /* Last row 16. */
    out[k++] = V_EXT(V_SUB(c[C_HALT], one));
    out[k++] = V_EXT(u);
    out[k++] = e_add(e_add(aux[AUX_S], sum_a), ch->v);
}

#undef FN
#undef FN_
