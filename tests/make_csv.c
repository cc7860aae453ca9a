/* SPDX-License-Identifier: MIT */
/* make_csv.c - writes the small CSV file examples/classify_csv is run on in
 * the tests: three classes of 200 samples each, Gaussian clouds in five
 * columns of very different scales (grams, metres, a ratio, a count, and
 * one of pure noise), so that the classes are separable only after the
 * inputs are standardized, with some overlap left.
 *
 *     make_csv out.csv */
#include <math.h>
#include <stdint.h>
#include <stdio.h>

enum { PER_CLASS = 200, CLASSES = 3, COLUMNS = 5 };

static uint64_t g_state = 12345;

static double uniform(void) /* (0, 1), splitmix64 */
{
    uint64_t z = (g_state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    z ^= z >> 31;
    return ((double)(z >> 11) + 0.5) / 9007199254740992.0;
}

static double normal(void) /* Box-Muller */
{
    return sqrt(-2 * log(uniform())) * cos(6.283185307179586 * uniform());
}

int main(int argc, char **argv)
{
    static const char *const names[CLASSES] = {"north", "south", "east"};
    static const double centre[CLASSES][COLUMNS] = {{2500, 0.010, 0.30, 40, 0},
                                                    {3100, 0.012, 0.45, 55, 0},
                                                    {2800, 0.016, 0.25, 48, 0}};
    static const double spread[COLUMNS] = {260, 0.0018, 0.07, 6, 1};
    if (argc != 2)
        return 2;
    FILE *f = fopen(argv[1], "w");
    if (!f)
        return 1;
    fprintf(f, "mass_g,length_m,ratio,count,noise,region\n");
    for (int i = 0; i < PER_CLASS * CLASSES; i++) {
        int c = i % CLASSES;
        for (int j = 0; j < COLUMNS; j++)
            fprintf(f, "%.6g,", centre[c][j] + spread[j] * normal());
        fprintf(f, "%s\n", names[c]);
    }
    return fclose(f) == 0 ? 0 : 1;
}
